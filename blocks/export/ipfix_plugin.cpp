// The netloom_ipfix plugin: IPFIXExporter and IPFIXSource (docs/ipfix.md).
#include "ipfix_exporter.hpp"
#include "ipfix_source.hpp"

NETLOOM_PLUGIN(netloom::ipfix::IPFIXExporter, netloom::ipfix::IPFIXSource)
