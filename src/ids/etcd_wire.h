// etcd's v3 JSON API (the gRPC gateway every etcd 3.4 member serves on its client port, under
// /v3/...): the request bodies the etcd id source sends and the replies it reads. Keys and values
// travel base64-encoded; 64-bit numbers arrive as JSON strings ("mod_revision":"42"); fields at
// their default (false, 0, empty) are left out of a reply, so an absent "succeeded" is false.
// Pure functions, no I/O: the client (etcd_client.h) moves the bytes.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "busyring/base/result.h"

namespace busyring::ids {

std::string base64_encode(std::string_view bytes);
// False on anything that is not canonical padded base64.
[[nodiscard]] bool base64_decode(std::string_view text, std::string& out);

// A JSON string literal, quotes included.
std::string json_string(std::string_view text);

// One key as a range read found it: absent, or its value and last modification's revision.
struct EtcdKv {
  bool exists = false;
  std::string value;
  uint64_t mod_revision = 0;
};

struct EtcdTxnReply {
  bool succeeded = false;
  uint64_t revision = 0;       // the store's revision after the transaction
  std::vector<EtcdKv> ranges;      // one per range request of the branch that ran, in order
};

// The reservation: if the counter's last modification is `counter_mod_revision` and the node's
// record reads `last_record` (nullopt: absent), put the counter's new value and the new record;
// else read the counter and the record back (the failure branch), so a lost race costs no
// extra round trip.
struct EtcdReserveTxn {
  std::string counter_key;
  uint64_t counter_mod_revision = 0;
  uint64_t new_counter = 0;
  std::string record_key;
  std::optional<std::string> last_record;
  std::string new_record;
};
std::string etcd_reserve_txn_json(const EtcdReserveTxn& txn);
// Reads `keys` in one transaction (no compare: the success branch runs).
std::string etcd_read_txn_json(const std::vector<std::string>& keys);
std::string etcd_put_json(std::string_view key, std::string_view value);
std::string etcd_delete_range_json(std::string_view key);
std::string etcd_authenticate_json(std::string_view user, std::string_view password);

// A 200 reply's body; an error names what was wrong with it.
base::Result<EtcdTxnReply> parse_etcd_txn_reply(simdjson::dom::parser& parser, std::string_view body);
base::Result<std::string> parse_etcd_token(simdjson::dom::parser& parser, std::string_view body);

// An error reply ({"error":..., "message":..., "code":N}, N a gRPC status code); code -1 and the
// raw text (cut short) when the body is not that.
struct EtcdError {
  int code = -1;
  std::string message;
};
EtcdError parse_etcd_error(simdjson::dom::parser& parser, std::string_view body);

// gRPC status codes etcd answers with.
inline constexpr int kEtcdInvalidArgument = 3;
inline constexpr int kEtcdPermissionDenied = 7;
inline constexpr int kEtcdUnauthenticated = 16;

// A decimal counter value ("0".."18446744073709551615"); nullopt on anything else.
std::optional<uint64_t> parse_counter_value(std::string_view text);

}  // namespace busyring::ids
