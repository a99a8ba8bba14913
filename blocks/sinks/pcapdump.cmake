# PcapSink: Tstat's dump engine, written through libpcap's dump API (gzip
# through zlib behind a fopencookie stream).
netloom_add_block(netloom_pcapdump pcap_sink.cpp pcap_dump_file.cpp pcap_dump_rules.cpp)
target_link_libraries(netloom_pcapdump PRIVATE PkgConfig::PCAP ZLIB::ZLIB)
