# netloom-synth (tools/synth): determinism, labels vs. the written pcap, exact counts.
netloom_test(test_synth SOURCES test_synth.cpp LIBS netloom_synth_lib PkgConfig::PCAP)
