# --- FSMDPI (multi-packet layer-7 state machines, RTP/RTCP search) ---------
# netloom_fsmdpi_machines: the machines and their harness, shared by the
# plugin and the tests. Certificates are parsed by OpenSSL's libcrypto; built
# without it, the TLS machine reads everything but the certificate CN.
set(NETLOOM_FSMDPI_DIR ${CMAKE_CURRENT_LIST_DIR})
add_library(netloom_fsmdpi_machines STATIC
  ${NETLOOM_FSMDPI_DIR}/harness.cpp
  ${NETLOOM_FSMDPI_DIR}/http.cpp
  ${NETLOOM_FSMDPI_DIR}/rtsp.cpp
  ${NETLOOM_FSMDPI_DIR}/smtp.cpp
  ${NETLOOM_FSMDPI_DIR}/pop3.cpp
  ${NETLOOM_FSMDPI_DIR}/imap.cpp
  ${NETLOOM_FSMDPI_DIR}/tls.cpp
  ${NETLOOM_FSMDPI_DIR}/tls_cert.cpp
  ${NETLOOM_FSMDPI_DIR}/ssh.cpp
  ${NETLOOM_FSMDPI_DIR}/rtmp.cpp
  ${NETLOOM_FSMDPI_DIR}/msn.cpp
  ${NETLOOM_FSMDPI_DIR}/ymsg.cpp
  ${NETLOOM_FSMDPI_DIR}/xmpp.cpp
  ${NETLOOM_FSMDPI_DIR}/rtp.cpp)
target_include_directories(netloom_fsmdpi_machines PUBLIC ${NETLOOM_FSMDPI_DIR})
target_link_libraries(netloom_fsmdpi_machines PUBLIC netloom::sdk)
set_target_properties(netloom_fsmdpi_machines PROPERTIES POSITION_INDEPENDENT_CODE ON)
find_package(OpenSSL QUIET COMPONENTS Crypto)
if(OpenSSL_FOUND)
  target_link_libraries(netloom_fsmdpi_machines PRIVATE OpenSSL::Crypto)
  target_compile_definitions(netloom_fsmdpi_machines PRIVATE NETLOOM_FSMDPI_OPENSSL)
else()
  message(WARNING "OpenSSL (libssl-dev) not found: FSMDPI will not read TLS certificate names")
endif()

netloom_add_block(netloom_fsmdpi ${NETLOOM_FSMDPI_DIR}/fsmdpi_block.cpp)
target_link_libraries(netloom_fsmdpi PRIVATE netloom_fsmdpi_machines)
target_link_options(netloom_fsmdpi PRIVATE -Wl,--exclude-libs,ALL)
# --- end FSMDPI ---------------------------------------------------------------
