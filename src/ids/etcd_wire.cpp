// etcd's v3 JSON: base64, the request bodies, and the replies read with simdjson's DOM.
#include "etcd_wire.h"

#include <cinttypes>
#include <cstdio>

namespace busyring::ids {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_value(char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

std::string u64_text(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%" PRIu64, v);
  return buf;
}

// {"key":"<base64>"}: a range request of one key.
std::string range_request(std::string_view key) { return "{\"request_range\":{\"key\":\"" + base64_encode(key) + "\"}}"; }

std::string put_request(std::string_view key, std::string_view value) {
  return "{\"request_put\":{\"key\":\"" + base64_encode(key) + "\",\"value\":\"" + base64_encode(value) + "\"}}";
}

// A 64-bit field, as a JSON string (etcd's way) or a number; absent reads as 0. False when it
// is something else.
bool read_u64(simdjson::dom::element object, const char* field, uint64_t& out) {
  out = 0;
  simdjson::dom::element v;
  if (object.at_key(field).get(v) != simdjson::SUCCESS) return true;
  std::string_view text;
  if (v.get(text) == simdjson::SUCCESS) {
    const auto n = parse_counter_value(text);
    if (!n) return false;
    out = *n;
    return true;
  }
  return v.get(out) == simdjson::SUCCESS;
}

// "kvs" of a range response: the first one (we read single keys), decoded.
base::Result<EtcdKv> read_kvs(simdjson::dom::element range) {
  EtcdKv kv;
  simdjson::dom::array kvs;
  if (range.at_key("kvs").get(kvs) != simdjson::SUCCESS) return kv;  // left out: no such key
  for (simdjson::dom::element item : kvs) {
    std::string_view value;
    if (item.at_key("value").get(value) == simdjson::SUCCESS && !base64_decode(value, kv.value))
      return base::Error{"a value that is not base64"};
    if (!read_u64(item, "mod_revision", kv.mod_revision)) return base::Error{"a mod_revision that is not a number"};
    kv.exists = true;
    break;
  }
  return kv;
}

std::string shortened(std::string_view text) {
  constexpr size_t kMax = 160;
  return text.size() <= kMax ? std::string(text) : std::string(text.substr(0, kMax)) + "...";
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t n = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16 |
                       static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8 |
                       static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 2]));
    out += kAlphabet[n >> 18 & 63];
    out += kAlphabet[n >> 12 & 63];
    out += kAlphabet[n >> 6 & 63];
    out += kAlphabet[n & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t n = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (rest == 2) n |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    out += kAlphabet[n >> 18 & 63];
    out += kAlphabet[n >> 12 & 63];
    out += rest == 2 ? kAlphabet[n >> 6 & 63] : '=';
    out += '=';
  }
  return out;
}

bool base64_decode(std::string_view text, std::string& out) {
  out.clear();
  if (text.size() % 4 != 0) return false;
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    const int pad = last ? (text[i + 3] == '=') + (text[i + 2] == '=' && text[i + 3] == '=') : 0;
    uint32_t n = 0;
    for (size_t k = 0; k < 4; ++k) {
      const int v = k >= 4 - static_cast<size_t>(pad) ? 0 : base64_value(text[i + k]);
      if (v < 0) return false;
      n = n << 6 | static_cast<uint32_t>(v);
    }
    // Canonical only: the bits a padded group leaves over must be zero.
    if ((pad == 1 && (n & 0xff) != 0) || (pad == 2 && (n & 0xffff) != 0)) return false;
    out += static_cast<char>(n >> 16 & 0xff);
    if (pad < 2) out += static_cast<char>(n >> 8 & 0xff);
    if (pad < 1) out += static_cast<char>(n & 0xff);
  }
  return true;
}

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string etcd_reserve_txn_json(const EtcdReserveTxn& txn) {
  const std::string record_key = base64_encode(txn.record_key);
  // A key that does not exist has version 0 (a VALUE compare on it always fails).
  const std::string record_compare =
      txn.last_record ? "{\"key\":\"" + record_key + "\",\"target\":\"VALUE\",\"result\":\"EQUAL\",\"value\":\"" +
                            base64_encode(*txn.last_record) + "\"}"
                      : "{\"key\":\"" + record_key + "\",\"target\":\"VERSION\",\"result\":\"EQUAL\",\"version\":\"0\"}";
  return "{\"compare\":[{\"key\":\"" + base64_encode(txn.counter_key) +
         "\",\"target\":\"MOD\",\"result\":\"EQUAL\",\"mod_revision\":\"" + u64_text(txn.counter_mod_revision) +
         "\"}," + record_compare + "],\"success\":[" + put_request(txn.counter_key, u64_text(txn.new_counter)) + "," +
         put_request(txn.record_key, txn.new_record) + "],\"failure\":[" + range_request(txn.counter_key) + "," +
         range_request(txn.record_key) + "]}";
}

std::string etcd_read_txn_json(const std::vector<std::string>& keys) {
  std::string out = "{\"success\":[";
  for (size_t i = 0; i < keys.size(); ++i) out += (i > 0 ? "," : "") + range_request(keys[i]);
  return out + "]}";
}

std::string etcd_put_json(std::string_view key, std::string_view value) {
  return "{\"key\":\"" + base64_encode(key) + "\",\"value\":\"" + base64_encode(value) + "\"}";
}

std::string etcd_delete_range_json(std::string_view key) { return "{\"key\":\"" + base64_encode(key) + "\"}"; }

std::string etcd_authenticate_json(std::string_view user, std::string_view password) {
  return "{\"name\":" + json_string(user) + ",\"password\":" + json_string(password) + "}";
}

base::Result<EtcdTxnReply> parse_etcd_txn_reply(simdjson::dom::parser& parser, std::string_view body) {
  simdjson::dom::element doc;
  if (parser.parse(body.data(), body.size()).get(doc) != simdjson::SUCCESS)
    return base::Error{"etcd answered something that is not JSON: " + shortened(body)};
  EtcdTxnReply reply;
  simdjson::dom::element header;
  if (doc.at_key("header").get(header) != simdjson::SUCCESS || !read_u64(header, "revision", reply.revision) ||
      reply.revision == 0)
    return base::Error{"etcd's transaction reply has no header revision: " + shortened(body)};
  bool succeeded = false;
  if (doc.at_key("succeeded").get(succeeded) == simdjson::SUCCESS) reply.succeeded = succeeded;
  simdjson::dom::array responses;
  if (doc.at_key("responses").get(responses) != simdjson::SUCCESS) return reply;
  for (simdjson::dom::element response : responses) {
    simdjson::dom::element range;
    if (response.at_key("response_range").get(range) != simdjson::SUCCESS) continue;  // a put's reply
    auto kv = read_kvs(range);
    if (!kv) return base::Error{"etcd's transaction reply holds " + kv.error() + ": " + shortened(body)};
    reply.ranges.push_back(std::move(kv.value()));
  }
  return reply;
}

base::Result<std::string> parse_etcd_token(simdjson::dom::parser& parser, std::string_view body) {
  simdjson::dom::element doc;
  std::string_view token;
  if (parser.parse(body.data(), body.size()).get(doc) != simdjson::SUCCESS ||
      doc.at_key("token").get(token) != simdjson::SUCCESS || token.empty())
    return base::Error{"etcd's authenticate reply has no token: " + shortened(body)};
  return std::string(token);
}

EtcdError parse_etcd_error(simdjson::dom::parser& parser, std::string_view body) {
  EtcdError e;
  simdjson::dom::element doc;
  std::string_view message;
  int64_t code = 0;
  if (parser.parse(body.data(), body.size()).get(doc) == simdjson::SUCCESS &&
      doc.at_key("message").get(message) == simdjson::SUCCESS && doc.at_key("code").get(code) == simdjson::SUCCESS) {
    e.code = static_cast<int>(code);
    e.message = shortened(message);
  } else {
    e.message = shortened(body);
  }
  return e;
}

std::optional<uint64_t> parse_counter_value(std::string_view text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  uint64_t v = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

}  // namespace busyring::ids
