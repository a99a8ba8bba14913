// `netloom report`: PNG graphs of an RRD directory (RRDSink's output) and an
// index.html showing them, rendered with librrd's graph API.
#pragma once
#include <ctime>
#include <string>
#include <vector>

namespace netloom::app {

struct ReportOptions {
  std::string rrd_dir, out_dir;
  int width = 800, height = 300;  // of each PNG, legend included
  // rrdtool time specifications (epoch seconds, "end-6h"...); empty: from
  // the data: up to the last update, from the first known value of the
  // finest archive.
  std::string start, end;
};

struct ReportGraph {
  std::string png;  // file name inside out_dir
  std::string title;
  std::string section;  // index.html heading: traffic, flows, RTT, other histograms
};

struct Report {
  std::time_t start = 0, end = 0;
  std::vector<ReportGraph> graphs;    // as index.html lists them
  std::vector<std::string> warnings;  // files or graphs left out, and why
};

// Throws std::runtime_error with one line (naming the directory or the time
// specification) when there is nothing to render or the range is wrong.
Report render_report(const ReportOptions& options);

}  // namespace netloom::app
