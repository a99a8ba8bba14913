// certificate_cn() walks the subject Name itself; certificate_cn_openssl()
// decodes it with OpenSSL's d2i_X509_NAME(). Both must give the same text on
// generated names (string types, several and multi-valued RDNs, invalid
// strings) and on byte-level mutations of them.
#include <gtest/gtest.h>
#include <openssl/asn1.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include <random>
#include <string>
#include <vector>

#include "tls_cert.hpp"

namespace {

using Bytes = std::vector<std::uint8_t>;

void der_len(Bytes& out, std::size_t n) {
  if (n < 0x80) {
    out.push_back(static_cast<std::uint8_t>(n));
  } else if (n < 0x100) {
    out.push_back(0x81);
    out.push_back(static_cast<std::uint8_t>(n));
  } else {
    out.push_back(0x82);
    out.push_back(static_cast<std::uint8_t>(n >> 8));
    out.push_back(static_cast<std::uint8_t>(n));
  }
}
Bytes tlv(std::uint8_t tag, const Bytes& content) {
  Bytes out;
  out.push_back(tag);
  der_len(out, content.size());
  for (std::uint8_t b : content) out.push_back(b);
  return out;
}
// A certificate with just enough before the subject for both parsers.
Bytes certificate(const Bytes& subject) {
  static constexpr std::uint8_t kBefore[] = {0xA0, 0x03, 0x02, 0x01, 0x02, 0x02, 0x01,
                                             0x01, 0x30, 0x00, 0x30, 0x00, 0x30, 0x00};
  Bytes tbs(std::begin(kBefore), std::end(kBefore));
  for (std::uint8_t b : subject) tbs.push_back(b);
  return tlv(0x30, tlv(0x30, tbs));
}
struct Entry {
  int nid;
  int type;  // V_ASN1_* (raw bytes) or MBSTRING_* (converted)
  std::string value;
  int set = -1;  // -1: a new RDN; 0: joins the previous one (multi-valued)
};
Bytes name(const std::vector<Entry>& entries) {
  X509_NAME* n = X509_NAME_new();
  for (const Entry& e : entries)
    X509_NAME_add_entry_by_NID(n, e.nid, e.type, reinterpret_cast<const unsigned char*>(e.value.data()),
                               static_cast<int>(e.value.size()), -1, e.set);
  unsigned char* der = nullptr;
  const int len = i2d_X509_NAME(n, &der);
  Bytes out(der, der + (len > 0 ? len : 0));
  OPENSSL_free(der);
  X509_NAME_free(n);
  return out;
}
void expect_same(const Bytes& cert, const std::string& what) {
  EXPECT_EQ(netloom::fsmdpi::certificate_cn(cert.data(), cert.size()),
            netloom::fsmdpi::certificate_cn_openssl(cert.data(), cert.size()))
      << what;
}

std::vector<std::vector<Entry>> samples() {
  const std::string bmp_ab("\0a\0b", 4), univ_x("\0\0\0x", 4), surrogate("\xD8\x00", 2);
  return {
      {{NID_countryName, MBSTRING_ASC, "IT"},
       {NID_organizationName, MBSTRING_UTF8, "Acme"},
       {NID_commonName, MBSTRING_UTF8, "www.example.com"}},
      {{NID_commonName, V_ASN1_PRINTABLESTRING, "printable.example"}},
      {{NID_commonName, V_ASN1_IA5STRING, "ia5.example"}},
      {{NID_commonName, V_ASN1_T61STRING,
        "t61\xE9"
        ".example"}},
      {{NID_commonName, V_ASN1_UTF8STRING,
        "caf\xC3\xA9"
        ".example"}},
      {{NID_commonName, V_ASN1_BMPSTRING, bmp_ab}},
      {{NID_commonName, V_ASN1_BMPSTRING, std::string("\0a\0", 3)}},  // odd length
      {{NID_commonName, V_ASN1_BMPSTRING, surrogate}},
      {{NID_commonName, V_ASN1_UNIVERSALSTRING, univ_x}},
      {{NID_commonName, V_ASN1_UNIVERSALSTRING, std::string("\0\x11\0\0", 4)}},  // above U+10FFFF
      {{NID_commonName, V_ASN1_UTF8STRING, "bad\xC3("}},                         // invalid UTF-8
      {{NID_commonName, V_ASN1_UTF8STRING, "over\xC0\xAFlong"}},
      {{NID_commonName, V_ASN1_UTF8STRING, "sur\xED\xA0\x80rogate"}},
      {{NID_commonName, V_ASN1_UTF8STRING,
        "four\xF0\x9F\x98\x80"
        "byte"}},
      {{NID_commonName, V_ASN1_UTF8STRING, "big\xF4\x90\x80\x80"}},
      {{NID_commonName, V_ASN1_UTF8STRING, "ok"}, {NID_organizationName, V_ASN1_UTF8STRING, "bad\xFF"}},
      {{NID_organizationName, MBSTRING_UTF8, "no cn here"}},
      {{NID_commonName, MBSTRING_UTF8, "first"}, {NID_commonName, MBSTRING_UTF8, "second"}},
      {{NID_organizationName, MBSTRING_UTF8, "org"}, {NID_commonName, MBSTRING_UTF8, "multi", 0}},
      {{NID_commonName, V_ASN1_NUMERICSTRING, "12345"}},
      {{NID_commonName, V_ASN1_VISIBLESTRING, "visible"}},
      {{NID_commonName, V_ASN1_OCTET_STRING, "octets"}},
      {{NID_commonName, V_ASN1_UTF8STRING, std::string(400, 'x')}},
      {},
  };
}

TEST(FsmdpiCert, SubjectCnEqualsOpenSsl) {
  for (const auto& s : samples()) {
    const Bytes cert = certificate(name(s));
    expect_same(cert, std::to_string(s.size()) + " entries");
  }
  const std::string www = "www.example.com";
  const Bytes cert = certificate(name(samples()[0]));
  EXPECT_EQ(netloom::fsmdpi::certificate_cn(cert.data(), cert.size()), www);
}

TEST(FsmdpiCert, MutatedNamesGiveTheSameAsOpenSsl) {
  std::mt19937 rng(7);
  const auto all = samples();
  int differing = 0;
  for (int i = 0; i < 60000; ++i) {
    Bytes subject = name(all[static_cast<std::size_t>(i) % all.size()]);
    if (subject.size() < 3) continue;
    const int flips = 1 + static_cast<int>(rng() % 6);
    for (int k = 0; k < flips; ++k)
      subject[2 + rng() % (subject.size() - 2)] = static_cast<std::uint8_t>(rng());
    const Bytes cert = certificate(subject);
    const std::string a = netloom::fsmdpi::certificate_cn(cert.data(), cert.size());
    const std::string b = netloom::fsmdpi::certificate_cn_openssl(cert.data(), cert.size());
    if (a != b && ++differing <= 5)
      ADD_FAILURE() << "mutation " << i << ": '" << a << "' vs OpenSSL '" << b << "'";
  }
  EXPECT_EQ(differing, 0);
}

}  // namespace
