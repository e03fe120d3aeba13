// busyring-faultfs: the power-cut fault model for the black-box tests (see faultfs.h).
//   busyring-faultfs BACKING MOUNTPOINT --control SOCKET [--keep P] [--write-delay-us N] [--flush-delay-us N]
//       mounts, prints "faultfs: mounted ..." on stderr, serves until SIGTERM/SIGINT, unmounts
//   busyring-faultfs --control SOCKET COMMAND [ARG]
//       sends one control command (cut SEED | resume | keep P | stats) and prints the reply
#define FUSE_USE_VERSION 312
#include <fuse.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "faultfs.h"

namespace {

constexpr const char* kUsage =
    "usage: busyring-faultfs BACKING MOUNTPOINT --control SOCKET [--keep P] [--write-delay-us N] [--flush-delay-us N]\n"
    "       busyring-faultfs --control SOCKET cut SEED | resume | keep P | stats\n";

int usage_error(const char* what) {
  std::fprintf(stderr, "busyring-faultfs: %s\n%s", what, kUsage);
  return 2;
}

int client(const std::string& socket_path, const std::vector<std::string>& words) {
  std::string command;
  for (const auto& w : words) command += (command.empty() ? "" : " ") + w;
  std::string reply;
  if (const int rc = faultfs::control_request(socket_path, command, reply); rc < 0) {
    std::fprintf(stderr, "busyring-faultfs: cannot reach %s: %s\n", socket_path.c_str(), std::strerror(-rc));
    return 1;
  }
  std::fputs(reply.c_str(), stdout);
  return reply.rfind("error", 0) == 0 ? 1 : 0;
}

int serve(faultfs::State& state, const std::string& mountpoint, const std::string& socket_path) {
  const int listen_fd = faultfs::control_listen(socket_path);
  if (listen_fd < 0) {
    std::fprintf(stderr, "busyring-faultfs: cannot listen on %s: %s\n", socket_path.c_str(), std::strerror(-listen_fd));
    return 1;
  }
  fuse_args args = FUSE_ARGS_INIT(0, nullptr);
  fuse_opt_add_arg(&args, "busyring-faultfs");
  fuse_opt_add_arg(&args, "-o");
  fuse_opt_add_arg(&args, "fsname=busyring-faultfs");
  fuse* f = fuse_new(&args, &faultfs::operations(), sizeof(fuse_operations), &state);
  fuse_opt_free_args(&args);
  if (f == nullptr) return 1;
  if (fuse_mount(f, mountpoint.c_str()) != 0) {
    std::fprintf(stderr, "busyring-faultfs: cannot mount on %s (is /dev/fuse there? run as root)\n", mountpoint.c_str());
    fuse_destroy(f);
    return 1;
  }
  fuse_session* se = fuse_get_session(f);
  fuse_set_signal_handlers(se);
  std::thread control([&] { faultfs::control_serve(listen_fd, state); });
  std::fprintf(stderr, "faultfs: mounted %s on %s, control %s, keep %.3f, write delay up to %u us, flush delay up to %u us\n",
               state.backing.c_str(), mountpoint.c_str(), socket_path.c_str(), state.keep, state.write_delay_us,
               state.flush_delay_us);
  fuse_loop_config* cfg = fuse_loop_cfg_create();
  fuse_loop_cfg_set_max_threads(cfg, 64);
  fuse_loop_cfg_set_idle_threads(cfg, 16);
  const int rc = fuse_loop_mt(f, cfg);
  fuse_loop_cfg_destroy(cfg);
  shutdown(listen_fd, SHUT_RDWR);
  control.join();
  close(listen_fd);
  unlink(socket_path.c_str());
  fuse_remove_signal_handlers(se);
  fuse_unmount(f);
  fuse_destroy(f);
  std::fprintf(stderr, "faultfs: unmounted %s\n", mountpoint.c_str());
  return rc == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> positional;
  std::string socket_path;
  faultfs::State state;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--control" && has_value) {
      socket_path = argv[++i];
    } else if (a == "--keep" && has_value) {
      char* end = nullptr;
      state.keep = std::strtod(argv[++i], &end);
      if (*end != '\0' || !(state.keep >= 0.0 && state.keep <= 1.0)) return usage_error("--keep wants a fraction in [0, 1]");
    } else if ((a == "--write-delay-us" || a == "--flush-delay-us") && has_value) {
      char* end = nullptr;
      const unsigned long v = std::strtoul(argv[++i], &end, 10);
      if (*end != '\0' || v > 1'000'000) return usage_error("a delay wants 0..1000000 (microseconds)");
      (a == "--write-delay-us" ? state.write_delay_us : state.flush_delay_us) = static_cast<uint32_t>(v);
    } else if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else {
      positional.push_back(a);
    }
  }
  if (socket_path.empty()) return usage_error("--control SOCKET is required");
  const bool command = !positional.empty() && (positional[0] == "cut" || positional[0] == "resume" ||
                                                positional[0] == "keep" || positional[0] == "stats");
  if (command) return client(socket_path, positional);
  if (positional.size() != 2) return usage_error("expected BACKING and MOUNTPOINT, or a control command");
  state.backing = positional[0];
  state.backing_fd = open(state.backing.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (state.backing_fd < 0) {
    std::fprintf(stderr, "busyring-faultfs: cannot open %s: %s\n", state.backing.c_str(), std::strerror(errno));
    return 1;
  }
  return serve(state, positional[1], socket_path);
}
