// A shared object without the netloom entry point.
extern "C" int netloom_test_something() { return 42; }
