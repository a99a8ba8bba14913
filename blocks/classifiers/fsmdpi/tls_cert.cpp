// Certificate parsing is OpenSSL's (libcrypto). Decoding a whole X509 costs
// ~0.2 ms (the public key is decoded eagerly), too much per flow at line
// rate, so ASN1_get_object() walks the DER headers to the TBSCertificate's
// subject and d2i_X509_NAME() decodes that Name alone; its first commonName
// entry is returned as UTF-8.
#include "tls_cert.hpp"

#ifdef NETLOOM_FSMDPI_OPENSSL
#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/obj_mac.h>
#include <openssl/x509.h>
#endif

namespace netloom::fsmdpi {

#ifdef NETLOOM_FSMDPI_OPENSSL
namespace {

// One DER header at p (within end): its contents [p, p + len) on success.
bool header(const unsigned char*& p, const unsigned char* end, long& len, int& tag, int& cls,
            bool& constructed) {
  const unsigned char* q = p;
  const int r = ASN1_get_object(&q, &len, &tag, &cls, end - p);
  if (r & 0x80) return false;
  constructed = (r & V_ASN1_CONSTRUCTED) != 0;
  if (len > end - q) return false;
  p = q;
  return true;
}

// Steps into a constructed element (SEQUENCE).
bool enter(const unsigned char*& p, const unsigned char*& end) {
  long len = 0;
  int tag = 0, cls = 0;
  bool constructed = false;
  if (!header(p, end, len, tag, cls, constructed) || !constructed) return false;
  end = p + len;
  return true;
}

// Steps over one element.
bool skip(const unsigned char*& p, const unsigned char* end) {
  long len = 0;
  int tag = 0, cls = 0;
  bool constructed = false;
  if (!header(p, end, len, tag, cls, constructed)) return false;
  p += len;
  return true;
}

}  // namespace
#endif

std::string certificate_cn(const std::uint8_t* der, std::size_t len) {
  std::string out;
#ifdef NETLOOM_FSMDPI_OPENSSL
  // Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL,
  //   serialNumber, signature, issuer, validity, subject, ... }, ... }
  const unsigned char* p = der;
  const unsigned char* end = der + len;
  if (!enter(p, end) || !enter(p, end)) return out;
  if (p < end && *p == 0xA0 && !skip(p, end)) return out;  // [0] EXPLICIT version
  for (int i = 0; i < 4; ++i)                              // serial, signature, issuer, validity
    if (!skip(p, end)) return out;
  const unsigned char* subject = p;
  if (!skip(p, end)) return out;
  X509_NAME* name = d2i_X509_NAME(nullptr, &subject, p - subject);
  if (!name) return out;
  const int at = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (at >= 0) {
    unsigned char* utf8 = nullptr;
    const int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, at)));
    for (int i = 0; i < n && out.size() < 255; ++i)
      if (utf8[i] >= 0x20 && utf8[i] < 0x7F) out.push_back(static_cast<char>(utf8[i]));
    OPENSSL_free(utf8);
  }
  X509_NAME_free(name);
#else
  (void)der;
  (void)len;
#endif
  return out;
}

}  // namespace netloom::fsmdpi
