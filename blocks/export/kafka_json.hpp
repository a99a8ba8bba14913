// KafkaSink's message texts other than flow records (those are LogSink's JSON
// lines, blocks/sinks/log_format.hpp): message keys, classification events
// and histograms as JSON objects. docs/kafka.md shows every shape.
#pragma once
#include <netloom/classification.hpp>
#include <netloom/flow.hpp>
#include <netloom/histogram.hpp>
#include <string>
#include <string_view>

namespace netloom::kafka {

// "tcp 10.0.0.1:1234 10.0.0.2:80", "udp [2001:db8::1]:53 [2001:db8::2]:5353"
// (client first; another L4 protocol by number: "132 ...").
void append_tuple(std::string& out, const FlowKey& k);

// Why a record was emitted ("fin", "rst", "idle", ..., "interim"), for the `end` header.
std::string_view end_name(FlowEnd e);

// One classification event as a JSON object (no newline).
void event_json(std::string& out, const ClassificationEvent& e);

// One histogram of a window as a JSON object (no newline).
void histogram_json(std::string& out, const HistogramWindow& w, const HistogramData& h);

}  // namespace netloom::kafka
