// Formatting of flow records into Tstat's log lines (log_tcp_complete,
// log_tcp_nocomplete, log_udp_complete) and the same columns as JSON lines or
// CSV. One RowWriter call per column appends straight into a reusable
// std::string: no iostreams, numbers through std::to_chars.
#pragma once
#include <cstdint>
#include <netloom/flow.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace netloom::logs {

enum class Format { tstat, json, csv };
enum class Kind { tcp_complete = 0, tcp_nocomplete = 1, udp_complete = 2, skype_complete = 3 };
inline constexpr int kKinds = 4;

// Tstat's optional column groups of log_tcp_complete (runtime.conf tcplog_*).
inline constexpr unsigned kEndToEnd = 1, kLayer7 = 2, kP2P = 4, kOptions = 8, kAdvanced = 16;
inline constexpr unsigned kDefaultMask = kEndToEnd | kLayer7 | kP2P | kOptions;  // 15

// "log_tcp_complete" etc.
std::string_view kind_name(Kind k);

// Column names of one log, in print order (dynamic numbering over the groups
// `mask` enables; nocomplete and UDP logs ignore the mask).
std::vector<std::string_view> columns(Kind k, unsigned mask);

// The first line of a file: Tstat's `#15#c_ip:1 c_port:2 ...` (UDP: `#c_ip:1 ...`),
// a CSV header row, or nothing for JSON lines. Ends with '\n' unless empty.
std::string header(Format f, Kind k, unsigned mask);

// Writes v with six decimals, the same characters as std::to_chars(first,
// last, v, std::chars_format::fixed, 6) (exact rounding, ties to even), with
// integer arithmetic for the usual values (times in ms up to 9.2e12): the
// general path was 3 % of a tstat.xml run. Returns the end.
char* fixed6(char* first, char* last, double v);

// Appends one row; columns are written in the order of `names`.
class RowWriter {
 public:
  RowWriter(std::string& out, Format f) : out_(out), f_(f) {}
  RowWriter(const RowWriter&) = delete;
  RowWriter& operator=(const RowWriter&) = delete;
  ~RowWriter() { spill(); }
  // JSON and CSV rows also carry `app` (the classifiers' application name).
  void begin(const std::vector<std::string_view>& names, std::string_view proto, bool complete,
             std::string_view app = {});
  void end();  // newline; throws std::logic_error if the column count is off
  Format format() const noexcept { return f_; }

  void u(std::uint64_t v);                   // unsigned integer
  void ms(double v);                         // "%f": 6 decimals
  void ip(const IpAddr& a, int version);     // dotted quad / RFC 5952
  void str(std::string_view s);              // a present string
  void absent(std::string_view tstat_text);  // no value: Tstat's text ("-", "---"), JSON null, CSV empty
  void num_text(std::string_view text);      // a number already as text ("0.0")

 private:
  void sep();
  // Tstat-format numbers are staged here and appended to out_ in runs: a
  // std::string append (and a memcpy call) per 3-digit column was a third
  // of the log's cost. Everything else spills the stage first (sep(),
  // begin(), end()), so the order of the text never changes.
  static constexpr std::size_t kStage = 1024, kStageRoom = 32;
  void spill() {
    if (staged_) out_.append(stage_, staged_);
    staged_ = 0;
  }
  void csv_string(std::string_view s);
  void json_string(std::string_view s);
  std::string& out_;
  std::string_view app_;
  Format f_;
  const std::vector<std::string_view>* names_ = nullptr;
  std::size_t col_ = 0;
  std::size_t staged_ = 0;
  char stage_[kStage];
};

// Time conversions exactly as Tstat prints them (its times are µs doubles).
// Appends s as a JSON string (quoted, escaped): LogSink's json format and KafkaSink.
void append_json_string(std::string& out, std::string_view s);

double abs_ms(std::uint64_t ns);                            // time2double(t)/1000
double rel_ms(std::uint64_t from_ns, std::uint64_t to_ns);  // elapsed(from,to)/1000, 0 if to < from
double rel_s(std::uint64_t from_ns, std::uint64_t to_ns);   // elapsed(from,to)/1000/1000
double rtt_avg_ms(const TcpDirStats& d);                    // sum/(count+0.0001), ms
double rtt_stdev_ms(const TcpDirStats& d);                  // sample stdev, 0 if count <= 2, ms

// One record as a row of log `k` (TCP logs use `mask` for the complete log only).
void format_tcp(RowWriter& w, const std::vector<std::string_view>& names, const FlowRecord& r, unsigned mask,
                bool complete);
void format_udp(RowWriter& w, const std::vector<std::string_view>& names, const FlowRecord& r);
// log_skype_complete (spec §7.5) for a record with FlowRecord::skype set. Tstat
// format: Tstat's UDP line (ends "U") or TCP line (ends "T"), no header; JSON
// and CSV: one column set for both (`names`), fields a variant lacks absent.
void format_skype(RowWriter& w, const std::vector<std::string_view>& names, const FlowRecord& r);

}  // namespace netloom::logs
