// The per-shard timeout lists; see timers.h.
#include "timers.h"

#include "busyring/base/assert.h"

namespace busyring::net {

Timers::Timers(ConnectionTable& conns, const TimerDurations& durations) noexcept
    : conns_(conns),
      durations_(durations),
      lists_{List(LinksOf{&conns}), List(LinksOf{&conns}), List(LinksOf{&conns})} {
  static_assert(kLists == 3);
}

void Timers::clear(Connection& c) noexcept {
  if (c.timer_list == TimerList::none) return;
  list_of(c.timer_list).remove(c.slot);
  c.timer_list = TimerList::none;
}

void Timers::set(Connection& c, TimerList list, uint64_t deadline_ns) noexcept {
  BR_ASSERT(list != TimerList::none && list != TimerList::count);
  clear(c);
  c.timer_list = list;
  c.timer.deadline_ns = deadline_ns;
  list_of(list).push_back(c.slot);
}

void Timers::refresh(Connection& c, uint64_t now_ns) noexcept {
  if (c.closing() || c.phase == Phase::half_closed) return;
  if (c.parser.in_request() && c.gate != InputGate::stopped) {
    if (c.timer_list != TimerList::request) set(c, TimerList::request, c.request.context.start_ns + durations_.request_ns);
    return;
  }
  set(c, TimerList::idle, now_ns + durations_.idle_ns);
}

void Timers::linger(Connection& c, uint64_t now_ns) noexcept { set(c, TimerList::linger, now_ns + durations_.linger_ns); }

Connection* Timers::pop_expired(uint64_t now_ns, TimerList& list) noexcept {
  for (const TimerList l : {TimerList::idle, TimerList::request, TimerList::linger}) {
    const uint32_t head = list_of(l).front();
    if (head == kNoSlot) continue;
    Connection& c = conns_.at(head);
    if (c.timer.deadline_ns > now_ns) continue;
    list = l;
    clear(c);
    return &c;
  }
  return nullptr;
}

Connection* Timers::oldest_request() noexcept {
  const uint32_t head = list_of(TimerList::request).front();
  return head == kNoSlot ? nullptr : &conns_.at(head);
}

}  // namespace busyring::net
