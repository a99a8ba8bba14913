// The subject common name (OID 2.5.4.3) of a DER X.509 certificate.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace netloom::fsmdpi {

// Printable characters only, at most 255; "" when the certificate does not
// parse or has no CN (or netloom was built without OpenSSL).
std::string certificate_cn(const std::uint8_t* der, std::size_t len);

}  // namespace netloom::fsmdpi
