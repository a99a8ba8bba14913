// DER headers are read by OpenSSL's ASN1_get_object() (libcrypto). Decoding
// a whole X509 costs ~0.2 ms (the public key is decoded eagerly), and even
// d2i_X509_NAME() on the subject alone was 4 % of a tstat.xml run (it builds
// the name's canonical encoding, every entry converted and re-encoded), so
// the subject Name is walked here with the same rules: the first commonName
// entry, converted as ASN1_STRING_to_UTF8() would, and nothing when any
// entry would make d2i_X509_NAME() fail (tests/test_fsmdpi_cert.cpp compares
// both on generated certificates).
#include "tls_cert.hpp"

#ifdef NETLOOM_FSMDPI_OPENSSL
#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/obj_mac.h>
#include <openssl/x509.h>
#endif

#include <cstring>

namespace netloom::fsmdpi {

#ifdef NETLOOM_FSMDPI_OPENSSL
namespace {

// One DER header at p (within end): its contents [p, p + len) on success.
bool header(const unsigned char*& p, const unsigned char* end, long& len, int& tag, int& cls,
            bool& constructed) {
  const unsigned char* q = p;
  const int r = ASN1_get_object(&q, &len, &tag, &cls, end - p);
  if (r & 0x80) return false;
  if (r == 0x21) return false;  // indefinite length: BER, not in a certificate
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

// Appends the printable ASCII characters of one decoded character; false
// for a value UTF-8 cannot carry (surrogates, above U+10FFFF).
bool put(unsigned long c, std::string* out) {
  if ((c >= 0xD800 && c < 0xE000) || c > 0x10FFFF) return false;
  if (out && c >= 0x20 && c < 0x7F && out->size() < 255) out->push_back(static_cast<char>(c));
  return true;
}

// A DirectoryString value as ASN1_STRING_to_UTF8() converts it (OpenSSL's
// tag2nbyte: 1-byte, BMP, Universal, UTF-8 types); false where it fails.
bool string_value(int tag, const unsigned char* p, long len, std::string* out) {
  switch (tag) {
    case V_ASN1_NUMERICSTRING:
    case V_ASN1_PRINTABLESTRING:
    case V_ASN1_T61STRING:
    case V_ASN1_IA5STRING:
    case V_ASN1_UTCTIME:
    case V_ASN1_GENERALIZEDTIME:
    case V_ASN1_VISIBLESTRING:
      for (long i = 0; i < len; ++i) put(p[i], out);  // Latin-1: always valid
      return true;
    case V_ASN1_BMPSTRING:
      if (len % 2) return false;
      for (long i = 0; i < len; i += 2)
        if (!put(static_cast<unsigned long>(p[i]) << 8 | p[i + 1], out)) return false;
      return true;
    case V_ASN1_UNIVERSALSTRING:
      if (len % 4) return false;
      for (long i = 0; i < len; i += 4)
        if (!put(static_cast<unsigned long>(p[i]) << 24 | static_cast<unsigned long>(p[i + 1]) << 16 |
                     static_cast<unsigned long>(p[i + 2]) << 8 | p[i + 3],
                 out))
          return false;
      return true;
    case V_ASN1_UTF8STRING:
      for (long i = 0; i < len;) {
        const unsigned char b = p[i];
        const int n = b < 0x80             ? 1
                      : (b & 0xE0) == 0xC0 ? 2
                      : (b & 0xF0) == 0xE0 ? 3
                      : (b & 0xF8) == 0xF0 ? 4
                                           : 0;
        if (n == 0 || i + n > len) return false;
        unsigned long c = n == 1 ? b : b & (0x7F >> n);
        for (int k = 1; k < n; ++k) {
          if ((p[i + k] & 0xC0) != 0x80) return false;
          c = c << 6 | (p[i + k] & 0x3F);
        }
        static constexpr unsigned long kMin[] = {0, 0, 0x80, 0x800, 0x10000};  // shortest form only
        if (c < kMin[n] || !put(c, out)) return false;
        i += n;
      }
      return true;
    default:
      return false;
  }
}

// Types d2i_X509_NAME() converts to UTF-8 for the canonical encoding (a
// failure there fails the whole Name).
bool canonicalised(int tag) {
  switch (tag) {
    case V_ASN1_UTF8STRING:
    case V_ASN1_BMPSTRING:
    case V_ASN1_UNIVERSALSTRING:
    case V_ASN1_PRINTABLESTRING:
    case V_ASN1_T61STRING:
    case V_ASN1_IA5STRING:
    case V_ASN1_VISIBLESTRING:
      return true;
    default:
      return false;
  }
}

// An entry's value as OpenSSL decodes it (DirectoryString as the MSTRING
// ASN1_PRINTABLE: a universal tag of B_ASN1_PRINTABLE, then the type's own
// content rules).
bool valid_value(int tag, int cls, bool constructed, const unsigned char* p, long len) {
  if (cls != V_ASN1_UNIVERSAL) return false;
  switch (tag) {
    case V_ASN1_SEQUENCE:
      return constructed;  // kept whole, any content
    case V_ASN1_BIT_STRING:
      return !constructed && len >= 1 && p[0] <= 7;
    case V_ASN1_UTF8STRING:
    case V_ASN1_NUMERICSTRING:
    case V_ASN1_PRINTABLESTRING:
    case V_ASN1_T61STRING:
    case V_ASN1_IA5STRING:
    case V_ASN1_UNIVERSALSTRING:
    case V_ASN1_BMPSTRING:
    case 7:  // the tags OpenSSL maps to B_ASN1_UNKNOWN: kept as they are
    case 8:
    case 9:
    case 11:
    case 13:
    case 14:
    case 15:
    case 29:
      // (OpenSSL would also join a constructed string's parts; DER has none)
      return !constructed && (!canonicalised(tag) || string_value(tag, p, len, nullptr));
    default:
      return false;
  }
}

// An OBJECT IDENTIFIER's content as OpenSSL accepts it: not empty, ends a
// subidentifier, no subidentifier starting with a 0x80 pad.
bool valid_oid(const unsigned char* p, long len) {
  if (len < 1 || (p[len - 1] & 0x80)) return false;
  for (long i = 0; i < len; ++i)
    if (p[i] == 0x80 && (i == 0 || !(p[i - 1] & 0x80))) return false;
  return true;
}

// Name ::= SEQUENCE OF SET OF SEQUENCE { type OBJECT IDENTIFIER, value }
// at [p, end): the first commonName's text, "" when the Name is not one
// d2i_X509_NAME() would accept.
std::string subject_cn(const unsigned char* p, const unsigned char* end) {
  static constexpr unsigned char kCn[] = {0x55, 0x04, 0x03};  // 2.5.4.3
  long len = 0;
  int tag = 0, cls = 0;
  bool constructed = false;
  // OpenSSL checks the constructed bit of the entries' SEQUENCEs only.
  auto is = [&](int want) { return tag == want && cls == V_ASN1_UNIVERSAL; };
  if (!header(p, end, len, tag, cls, constructed) || !is(V_ASN1_SEQUENCE)) return {};
  end = p + len;
  const unsigned char* cn = nullptr;
  long cn_len = 0;
  int cn_tag = -1;
  while (p < end) {
    if (!header(p, end, len, tag, cls, constructed) || !is(V_ASN1_SET)) return {};
    const unsigned char* set_end = p + len;
    while (p < set_end) {
      if (!header(p, set_end, len, tag, cls, constructed) || !is(V_ASN1_SEQUENCE) || !constructed) return {};
      const unsigned char* atv_end = p + len;
      if (!header(p, atv_end, len, tag, cls, constructed) || tag != V_ASN1_OBJECT ||
          cls != V_ASN1_UNIVERSAL || constructed || !valid_oid(p, len))
        return {};
      const bool is_cn = len == 3 && std::memcmp(p, kCn, 3) == 0;
      p += len;
      if (!header(p, atv_end, len, tag, cls, constructed) || !valid_value(tag, cls, constructed, p, len))
        return {};
      if (is_cn && !cn) {
        cn = p;
        cn_len = len;
        cn_tag = constructed ? -1 : tag;
      }
      p += len;
      if (p != atv_end) return {};  // exactly type and value
    }
  }
  std::string out;
  if (cn && !string_value(cn_tag, cn, cn_len, &out)) out.clear();
  return out;
}

}  // namespace
#endif

std::string certificate_cn(const std::uint8_t* der, std::size_t len) {
#ifdef NETLOOM_FSMDPI_OPENSSL
  // Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL,
  //   serialNumber, signature, issuer, validity, subject, ... }, ... }
  const unsigned char* p = der;
  const unsigned char* end = der + len;
  if (!enter(p, end) || !enter(p, end)) return {};
  if (p < end && *p == 0xA0 && !skip(p, end)) return {};  // [0] EXPLICIT version
  for (int i = 0; i < 4; ++i)                             // serial, signature, issuer, validity
    if (!skip(p, end)) return {};
  const unsigned char* subject = p;
  if (!skip(p, end)) return {};
  return subject_cn(subject, p);
#else
  (void)der;
  (void)len;
  return {};
#endif
}

std::string certificate_cn_openssl(const std::uint8_t* der, std::size_t len) {
  std::string out;
#ifdef NETLOOM_FSMDPI_OPENSSL
  const unsigned char* p = der;
  const unsigned char* end = der + len;
  if (!enter(p, end) || !enter(p, end)) return out;
  if (p < end && *p == 0xA0 && !skip(p, end)) return out;
  for (int i = 0; i < 4; ++i)
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
