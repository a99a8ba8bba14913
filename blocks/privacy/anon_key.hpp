// Where a Crypto-PAn key comes from, as Tstat's options give it:
//   --keyvalue TEXT   the text's bytes, zero-padded to 32
//   --keyfile FILE    the first line of FILE, likewise (here also: a file of
//                     exactly 32 bytes is the raw key)
//   --keybase64 FILE  the first line of FILE, Base64 (the form Tstat saves)
//   none              32 random bytes, saved Base64 as <dir>/CPanKey_<date>
// Unlike Tstat, which truncates long keys and pads short Base64 keys with a
// warning, a key that does not fit is refused: text keys hold 1..32 bytes and
// Base64 keys exactly 32. Errors are one line naming the file (and line).
#pragma once
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cryptopan.hpp"

namespace netloom::privacy {

// `where` names the source in errors ("parameter 'key'").
Key key_from_text(std::string_view text, const std::string& where);
Key load_key_file(const std::string& path);
Key load_key_base64_file(const std::string& path);
Key generate_key();

// Writes `key` Base64-encoded (Tstat's CPanKey_ form, one line, mode 0600)
// to dir/CPanKey_YYYY_MM_DD_HH_MM (local time of `when`); creates `dir`. An
// existing file is never overwritten (it may be the only copy of an earlier
// run's key): _2, _3, ... is appended instead. Returns the path.
std::string save_key(const std::string& dir, const Key& key, std::time_t when);

std::string base64_encode(const std::uint8_t* data, std::size_t n);
// nullopt unless `text` is canonical padded Base64 (no whitespace inside).
std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text);

}  // namespace netloom::privacy
