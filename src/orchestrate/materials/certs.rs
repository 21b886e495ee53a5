//! Certificate chains for a trial (contract section 7), made in-process:
//! a self-signed root, `length − 1` intermediates and a leaf, all ECDSA P-256.

use std::fmt;
use std::path::Path;

use rand::distributions::Alphanumeric;
use rand::Rng;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use yasna::models::ObjectIdentifier;
use yasna::Tag;

use crate::catalog::testcases::CertSpec;

/// The names every leaf certificate carries.
pub const LEAF_NAMES: [&str; 4] = ["server", "server4", "server6", "server46"];
/// How many random names an inflated leaf adds, and their length.
pub const INFLATED_NAMES: usize = 20;
pub const INFLATED_NAME_LEN: usize = 250;

/// The files a trial mounts at /certs, as PEM text.
#[derive(Debug, Clone)]
pub struct CertChain {
    /// Leaf first, then intermediates; the root is not included.
    pub cert_pem: String,
    /// The root certificate.
    pub ca_pem: String,
    /// The leaf's key as a SEC1 "EC PRIVATE KEY".
    pub key_pem: String,
}

#[derive(Debug)]
pub struct CertError(String);

impl fmt::Display for CertError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "cannot create the certificate chain: {}", self.0)
    }
}

impl std::error::Error for CertError {}

impl From<std::io::Error> for CertError {
    fn from(e: std::io::Error) -> Self {
        CertError(format!("cannot write the files: {e}"))
    }
}

impl From<rcgen::Error> for CertError {
    fn from(e: rcgen::Error) -> Self {
        CertError(e.to_string())
    }
}

impl CertChain {
    /// Writes `cert.pem`, `ca.pem` and `priv.key` into `dir`.
    pub fn write_to(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::write(dir.join("cert.pem"), &self.cert_pem)?;
        std::fs::write(dir.join("ca.pem"), &self.ca_pem)?;
        std::fs::write(dir.join("priv.key"), &self.key_pem)?;
        Ok(())
    }
}

fn ca_params(org: &str) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = org_name(org);
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(100));
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    p.use_authority_key_identifier_extension = true;
    p.not_before = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    p.not_after = time::OffsetDateTime::now_utc() + time::Duration::days(10);
    p
}

fn org_name(org: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, org);
    dn
}

fn leaf_names(inflated: bool) -> Vec<String> {
    let mut names: Vec<String> = LEAF_NAMES.iter().map(|s| s.to_string()).collect();
    if inflated {
        let mut rng = rand::thread_rng();
        for _ in 0..INFLATED_NAMES {
            let name: String = (&mut rng)
                .sample_iter(&Alphanumeric)
                .take(INFLATED_NAME_LEN)
                .map(char::from)
                .collect();
            names.push(name);
        }
    }
    names
}

/// Creates a fresh chain as `spec` asks.
pub fn generate(spec: CertSpec) -> Result<CertChain, CertError> {
    if spec.length == 0 {
        return Err(CertError("the chain length must be at least 1".into()));
    }
    let alg = &rcgen::PKCS_ECDSA_P256_SHA256;
    let root_key = KeyPair::generate_for(alg)?;
    let root_params = ca_params("interop runner Root Certificate Authority");
    let ca_pem = root_params.self_signed(&root_key)?.pem();
    let mut issuer = Issuer::new(root_params, root_key);

    // Signed from the root down; cert.pem lists them leaf first.
    let mut pems: Vec<String> = Vec::with_capacity(spec.length);
    for i in 1..spec.length {
        let key = KeyPair::generate_for(alg)?;
        let params = ca_params(&format!("interop runner intermediate {i}"));
        pems.push(params.signed_by(&key, &issuer)?.pem());
        issuer = Issuer::new(params, key);
    }
    let leaf_key = KeyPair::generate_for(alg)?;
    let mut leaf = CertificateParams::new(leaf_names(spec.inflated_leaf))?;
    leaf.distinguished_name = org_name("interop runner leaf");
    leaf.use_authority_key_identifier_extension = true;
    leaf.not_before = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    leaf.not_after = time::OffsetDateTime::now_utc() + time::Duration::days(10);
    pems.push(leaf.signed_by(&leaf_key, &issuer)?.pem());
    pems.reverse();

    Ok(CertChain {
        cert_pem: pems.concat(),
        ca_pem,
        key_pem: sec1_pem(&leaf_key.serialize_der())?,
    })
}

/// The P-256 curve's object identifier (1.2.840.10045.3.1.7).
const PRIME256V1: &[u64] = &[1, 2, 840, 10045, 3, 1, 7];

/// Re-encodes a PKCS#8 P-256 key as SEC1 with the curve named inside, the
/// form `openssl ecparam -genkey` writes and that endpoints expect. DER
/// through yasna and PEM through pem, the crates rcgen itself uses.
fn sec1_pem(pkcs8: &[u8]) -> Result<String, CertError> {
    let bad = |e: yasna::ASN1Error| CertError(format!("unexpected PKCS#8 key encoding ({e})"));
    // PrivateKeyInfo: version, algorithm, privateKey (an ECPrivateKey).
    let ec_key = yasna::parse_der(pkcs8, |r| {
        r.read_sequence(|r| {
            r.next().read_u8()?;
            r.next().read_der()?;
            let key = r.next().read_bytes()?;
            r.read_optional(|r| r.read_der())?;
            Ok(key)
        })
    })
    .map_err(bad)?;
    // ECPrivateKey: version 1, the scalar, [0] parameters, [1] public key.
    let (scalar, public) = yasna::parse_der(&ec_key, |r| {
        r.read_sequence(|r| {
            r.next().read_u8()?;
            let scalar = r.next().read_bytes()?;
            r.read_optional(|r| r.read_tagged(Tag::context(0), |r| r.read_der()))?;
            let public = r.read_optional(|r| r.read_tagged(Tag::context(1), |r| r.read_der()))?;
            Ok((scalar, public))
        })
    })
    .map_err(bad)?;
    let sec1 = yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_u8(1);
            w.next().write_bytes(&scalar);
            w.next().write_tagged(Tag::context(0), |w| {
                w.write_oid(&ObjectIdentifier::from_slice(PRIME256V1))
            });
            if let Some(public) = &public {
                w.next()
                    .write_tagged(Tag::context(1), |w| w.write_der(public));
            }
        })
    });
    Ok(pem::encode_config(
        &pem::Pem::new("EC PRIVATE KEY", sec1),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use x509_parser::extensions::GeneralName;
    use x509_parser::pem::Pem;
    use x509_parser::prelude::*;

    fn parse_pems(text: &str) -> Vec<Vec<u8>> {
        Pem::iter_from_buffer(text.as_bytes())
            .map(|p| {
                let p = p.expect("valid PEM");
                assert_eq!(p.label, "CERTIFICATE");
                p.contents
            })
            .collect()
    }

    fn san_names(cert: &X509Certificate) -> Vec<String> {
        let san = cert
            .subject_alternative_name()
            .unwrap()
            .expect("leaf has SANs");
        san.value
            .general_names
            .iter()
            .map(|n| match n {
                GeneralName::DNSName(s) => s.to_string(),
                other => panic!("unexpected SAN {other:?}"),
            })
            .collect()
    }

    /// Parses the chain back and verifies every signature up to the root.
    fn verify(chain: &CertChain, expect_len: usize) -> Vec<String> {
        let ders = parse_pems(&chain.cert_pem);
        assert_eq!(ders.len(), expect_len);
        let ca_der = parse_pems(&chain.ca_pem);
        assert_eq!(ca_der.len(), 1);
        let (_, root) = X509Certificate::from_der(&ca_der[0]).unwrap();
        let certs: Vec<X509Certificate> = ders
            .iter()
            .map(|d| X509Certificate::from_der(d).unwrap().1)
            .collect();

        assert!(root.is_ca());
        assert_eq!(root.subject(), root.issuer());
        root.verify_signature(None).expect("root is self-signed");
        let ku = root.key_usage().unwrap().unwrap();
        assert!(ku.critical && ku.value.key_cert_sign());

        for (i, cert) in certs.iter().enumerate() {
            let issuer = certs.get(i + 1).unwrap_or(&root);
            assert_eq!(cert.issuer(), issuer.subject());
            cert.verify_signature(Some(issuer.public_key()))
                .expect("signed by the next one");
            assert_eq!(
                cert.public_key().algorithm.algorithm.to_id_string(),
                "1.2.840.10045.2.1",
                "EC key"
            );
            assert_eq!(
                cert.public_key().subject_public_key.data.len(),
                65,
                "P-256 point"
            );
            assert_eq!(cert.is_ca(), i != 0, "only the leaf is not a CA");
        }
        san_names(&certs[0])
    }

    #[test]
    fn default_chain_has_leaf_signed_by_root() {
        let chain = generate(CertSpec {
            length: 1,
            inflated_leaf: false,
        })
        .unwrap();
        let names = verify(&chain, 1);
        assert_eq!(names, LEAF_NAMES);
    }

    #[test]
    fn amplification_chain_is_long_and_inflated() {
        let chain = generate(CertSpec {
            length: 9,
            inflated_leaf: true,
        })
        .unwrap();
        let names = verify(&chain, 9);
        assert_eq!(names.len(), 4 + INFLATED_NAMES);
        assert_eq!(&names[..4], LEAF_NAMES);
        for n in &names[4..] {
            assert_eq!(n.len(), INFLATED_NAME_LEN);
            assert!(n.chars().all(|c| c.is_ascii_alphanumeric()));
        }
        // The point of the inflation: a server flight far above 3 × 1200 bytes.
        let der_total: usize = parse_pems(&chain.cert_pem).iter().map(Vec::len).sum();
        assert!(der_total > 7500, "chain is {der_total} bytes");
    }

    #[test]
    fn private_key_is_sec1_p256_matching_the_leaf() {
        let chain = generate(CertSpec {
            length: 1,
            inflated_leaf: false,
        })
        .unwrap();
        let pem = Pem::iter_from_buffer(chain.key_pem.as_bytes())
            .next()
            .unwrap()
            .unwrap();
        assert_eq!(pem.label, "EC PRIVATE KEY");
        let (version, scalar, curve, public) = yasna::parse_der(&pem.contents, |r| {
            r.read_sequence(|r| {
                let version = r.next().read_u8()?;
                let scalar = r.next().read_bytes()?;
                let curve = r.next().read_tagged(Tag::context(0), |r| r.read_oid())?;
                let public = r.next().read_tagged(Tag::context(1), |r| r.read_der())?;
                Ok((version, scalar, curve, public))
            })
        })
        .unwrap();
        assert_eq!((version, scalar.len()), (1, 32));
        assert_eq!(curve.components().as_slice(), PRIME256V1);
        let leaf = parse_pems(&chain.cert_pem).remove(0);
        let (_, leaf) = X509Certificate::from_der(&leaf).unwrap();
        // A BIT STRING element: tag, length, unused-bits byte, the point.
        assert_eq!(&public[3..], &leaf.public_key().subject_public_key.data[..]);
    }

    #[test]
    fn openssl_accepts_the_key_and_chain_when_installed() {
        let Ok(out) = std::process::Command::new("openssl")
            .arg("version")
            .output()
        else {
            eprintln!("openssl not installed: skipping the cross-check");
            return;
        };
        assert!(out.status.success());
        let dir = tempfile::tempdir().unwrap();
        let chain = generate(CertSpec {
            length: 3,
            inflated_leaf: false,
        })
        .unwrap();
        chain.write_to(dir.path()).unwrap();
        let key = std::process::Command::new("openssl")
            .args(["ec", "-check", "-noout", "-in"])
            .arg(dir.path().join("priv.key"))
            .output()
            .unwrap();
        assert!(
            key.status.success(),
            "{}",
            String::from_utf8_lossy(&key.stderr)
        );
        // openssl verify wants intermediates separately from the leaf.
        let pems: Vec<&str> = chain
            .cert_pem
            .split_inclusive("-----END CERTIFICATE-----\n")
            .collect();
        std::fs::write(dir.path().join("leaf.pem"), pems[0]).unwrap();
        std::fs::write(dir.path().join("mid.pem"), pems[1..].concat()).unwrap();
        let verify = std::process::Command::new("openssl")
            .current_dir(dir.path())
            .args([
                "verify",
                "-CAfile",
                "ca.pem",
                "-untrusted",
                "mid.pem",
                "leaf.pem",
            ])
            .output()
            .unwrap();
        assert!(
            verify.status.success(),
            "{}",
            String::from_utf8_lossy(&verify.stdout)
        );
    }

    #[test]
    fn zero_length_chain_is_an_error() {
        assert!(generate(CertSpec {
            length: 0,
            inflated_leaf: false
        })
        .is_err());
    }
}
