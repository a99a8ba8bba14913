// The subject common name (OID 2.5.4.3) of a DER X.509 certificate.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace netloom::fsmdpi {

// Printable characters only, at most 255; "" when the certificate does not
// parse or has no CN (or netloom was built without OpenSSL).
std::string certificate_cn(const std::uint8_t* der, std::size_t len);
// The same through OpenSSL's d2i_X509_NAME() (the reference the tests
// compare certificate_cn() with; ~4x slower).
std::string certificate_cn_openssl(const std::uint8_t* der, std::size_t len);

}  // namespace netloom::fsmdpi
