//! gnutlsPriorityString, as far as rustls can honour it.
//!
//! The gtls driver hands the string to GnuTLS as a priority string
//! (`NORMAL:-VERS-TLS1.2:+AES-256-GCM`); the ossl driver reads it as OpenSSL
//! configuration commands, one `Key=Value` per line (`Protocol=-ALL,TLSv1.3`,
//! `CipherString=…`, `Ciphersuites=…`, `MinProtocol=…`). Both are mapped onto
//! what rustls offers: the TLS versions (1.2, 1.3) and the cipher suites.
//! Whatever cannot be mapped is named in one warning; it is ignored.

/// The cipher suites rustls (ring) provides, by our own short names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Suite {
    Tls13Aes256Gcm,
    Tls13Aes128Gcm,
    Tls13Chacha20,
    EcdheEcdsaAes256Gcm,
    EcdheEcdsaAes128Gcm,
    EcdheEcdsaChacha20,
    EcdheRsaAes256Gcm,
    EcdheRsaAes128Gcm,
    EcdheRsaChacha20,
}

pub const ALL_SUITES: [Suite; 9] = [
    Suite::Tls13Aes256Gcm,
    Suite::Tls13Aes128Gcm,
    Suite::Tls13Chacha20,
    Suite::EcdheEcdsaAes256Gcm,
    Suite::EcdheEcdsaAes128Gcm,
    Suite::EcdheEcdsaChacha20,
    Suite::EcdheRsaAes256Gcm,
    Suite::EcdheRsaAes128Gcm,
    Suite::EcdheRsaChacha20,
];

impl Suite {
    pub fn is_tls13(self) -> bool {
        matches!(
            self,
            Suite::Tls13Aes256Gcm | Suite::Tls13Aes128Gcm | Suite::Tls13Chacha20
        )
    }

    /// GnuTLS cipher name of the suite's bulk cipher.
    fn gnutls_cipher(self) -> &'static str {
        match self {
            Suite::Tls13Aes256Gcm | Suite::EcdheEcdsaAes256Gcm | Suite::EcdheRsaAes256Gcm => "AES-256-GCM",
            Suite::Tls13Aes128Gcm | Suite::EcdheEcdsaAes128Gcm | Suite::EcdheRsaAes128Gcm => "AES-128-GCM",
            _ => "CHACHA20-POLY1305",
        }
    }

    /// GnuTLS key exchange name (TLS 1.2 suites only).
    fn gnutls_kx(self) -> Option<&'static str> {
        match self {
            Suite::EcdheEcdsaAes256Gcm | Suite::EcdheEcdsaAes128Gcm | Suite::EcdheEcdsaChacha20 => Some("ECDHE-ECDSA"),
            Suite::EcdheRsaAes256Gcm | Suite::EcdheRsaAes128Gcm | Suite::EcdheRsaChacha20 => Some("ECDHE-RSA"),
            _ => None,
        }
    }

    /// OpenSSL name (CipherString for 1.2, Ciphersuites for 1.3).
    fn openssl_name(self) -> &'static str {
        match self {
            Suite::Tls13Aes256Gcm => "TLS_AES_256_GCM_SHA384",
            Suite::Tls13Aes128Gcm => "TLS_AES_128_GCM_SHA256",
            Suite::Tls13Chacha20 => "TLS_CHACHA20_POLY1305_SHA256",
            Suite::EcdheEcdsaAes256Gcm => "ECDHE-ECDSA-AES256-GCM-SHA384",
            Suite::EcdheEcdsaAes128Gcm => "ECDHE-ECDSA-AES128-GCM-SHA256",
            Suite::EcdheEcdsaChacha20 => "ECDHE-ECDSA-CHACHA20-POLY1305",
            Suite::EcdheRsaAes256Gcm => "ECDHE-RSA-AES256-GCM-SHA384",
            Suite::EcdheRsaAes128Gcm => "ECDHE-RSA-AES128-GCM-SHA256",
            Suite::EcdheRsaChacha20 => "ECDHE-RSA-CHACHA20-POLY1305",
        }
    }
}

/// What the string allows, and what of it was ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Priority {
    pub tls12: bool,
    pub tls13: bool,
    /// Allowed suites, in rustls's order of preference.
    pub suites: Vec<Suite>,
    /// Parts of the string that rustls cannot honour, as written.
    pub ignored: Vec<String>,
}

impl Default for Priority {
    fn default() -> Self {
        Priority {
            tls12: true,
            tls13: true,
            suites: ALL_SUITES.to_vec(),
            ignored: Vec::new(),
        }
    }
}

impl Priority {
    /// Parses either syntax: OpenSSL commands when the string has `=`, else GnuTLS.
    pub fn parse(s: &str) -> Priority {
        if s.contains('=') {
            Self::parse_openssl(s)
        } else {
            Self::parse_gnutls(s)
        }
    }

    /// A usable result: some version and some suite of that version remain.
    pub fn problem(&self) -> Option<&'static str> {
        if !self.tls12 && !self.tls13 {
            return Some("no TLS version that rustls supports (1.2, 1.3) is left enabled");
        }
        let usable = self
            .suites
            .iter()
            .any(|s| if s.is_tls13() { self.tls13 } else { self.tls12 });
        if !usable {
            return Some("no cipher suite that rustls supports is left enabled");
        }
        None
    }

    /// GnuTLS: a keyword sets versions, ciphers and key exchanges; `+`/`-`
    /// tokens edit each set; a suite is allowed when its cipher and (for 1.2)
    /// its key exchange are.
    fn parse_gnutls(s: &str) -> Priority {
        const CIPHERS: [&str; 3] = ["AES-256-GCM", "AES-128-GCM", "CHACHA20-POLY1305"];
        const KX: [&str; 2] = ["ECDHE-RSA", "ECDHE-ECDSA"];
        let mut p = Priority {
            tls12: false,
            tls13: false,
            suites: Vec::new(),
            ignored: Vec::new(),
        };
        let mut ciphers: Vec<&str> = Vec::new();
        let mut kx: Vec<&str> = Vec::new();
        fn set<'a>(v: &mut Vec<&'a str>, on: bool, items: &[&'a str]) {
            for i in items {
                v.retain(|x| x != i);
                if on {
                    v.push(i);
                }
            }
        }
        for tok in s.split(':').map(str::trim).filter(|t| !t.is_empty()) {
            let upper = tok.to_ascii_uppercase();
            let (sign, name) = match upper.as_bytes()[0] {
                b'+' => (Some(true), &upper[1..]),
                b'-' | b'!' => (Some(false), &upper[1..]),
                _ => (None, upper.as_str()),
            };
            match (sign, name) {
                (
                    None,
                    "NORMAL" | "PERFORMANCE" | "SECURE" | "SECURE128" | "PFS" | "SYSTEM" | "@SYSTEM" | "LEGACY"
                    | "SUITEB128",
                ) => {
                    p.tls12 = true;
                    p.tls13 = true;
                    ciphers = CIPHERS.to_vec();
                    kx = KX.to_vec();
                }
                (None, "SECURE192" | "SECURE256" | "SUITEB192") => {
                    p.tls12 = true;
                    p.tls13 = true;
                    ciphers = vec!["AES-256-GCM", "CHACHA20-POLY1305"];
                    kx = KX.to_vec();
                }
                (None, "NONE") => {
                    p.tls12 = false;
                    p.tls13 = false;
                    ciphers.clear();
                    kx.clear();
                }
                (Some(on), "VERS-TLS1.2") => p.tls12 = on,
                (Some(on), "VERS-TLS1.3") => p.tls13 = on,
                (Some(on), "VERS-ALL" | "VERS-TLS-ALL") => {
                    p.tls12 = on;
                    p.tls13 = on;
                }
                // Enabling these cannot be honoured; disabling them is what rustls does anyway.
                (Some(true), "VERS-TLS1.0" | "VERS-TLS1.1" | "VERS-SSL3.0") => p.ignored.push(tok.to_string()),
                (Some(on), "CIPHER-ALL") => set(&mut ciphers, on, &CIPHERS),
                (Some(on), c) if CIPHERS.contains(&c) => {
                    let c = CIPHERS.iter().find(|x| **x == c).copied().unwrap_or_default();
                    set(&mut ciphers, on, &[c]);
                }
                (Some(on), "KX-ALL") => set(&mut kx, on, &KX),
                (Some(on), k) if KX.contains(&k) => {
                    let k = KX.iter().find(|x| **x == k).copied().unwrap_or_default();
                    set(&mut kx, on, &[k]);
                }
                // Algorithms rustls does not have: removing them changes nothing.
                (Some(false), n) if is_known_gnutls_algo(n) => {}
                // Sets every rustls suite already satisfies.
                (
                    Some(true),
                    "MAC-ALL" | "AEAD" | "SHA256" | "SHA384" | "SIGN-ALL" | "CURVE-ALL" | "GROUP-ALL" | "COMP-NULL"
                    | "COMP-ALL" | "CTYPE-X509" | "CTYPE-ALL",
                ) => {}
                _ => p.ignored.push(tok.to_string()),
            }
        }
        p.suites = ALL_SUITES
            .iter()
            .copied()
            .filter(|s| ciphers.contains(&s.gnutls_cipher()) && s.gnutls_kx().is_none_or(|k| kx.contains(&k)))
            .collect();
        p
    }

    fn parse_openssl(s: &str) -> Priority {
        let mut p = Priority::default();
        let (mut min, mut max) = (12u8, 13u8);
        for line in openssl_commands(s) {
            let Some((key, value)) = line.split_once('=') else {
                p.ignored.push(line.to_string());
                continue;
            };
            let (key, value) = (key.trim(), value.trim());
            match key.to_ascii_lowercase().as_str() {
                "protocol" => {
                    // "-ALL,TLSv1.2" / "ALL,-TLSv1.3": applied in order.
                    let (mut v12, mut v13) = (p.tls12, p.tls13);
                    for item in value.split(',').map(str::trim).filter(|i| !i.is_empty()) {
                        let (on, name) = match item.as_bytes()[0] {
                            b'-' => (false, &item[1..]),
                            b'+' => (true, &item[1..]),
                            _ => (true, item),
                        };
                        match name.to_ascii_lowercase().as_str() {
                            "all" => {
                                v12 = on;
                                v13 = on;
                            }
                            "tlsv1.2" => v12 = on,
                            "tlsv1.3" => v13 = on,
                            "sslv2" | "sslv3" | "tlsv1" | "tlsv1.1" => {
                                if on {
                                    p.ignored.push(format!("Protocol={item}"));
                                }
                            }
                            _ => p.ignored.push(format!("Protocol={item}")),
                        }
                    }
                    p.tls12 = v12;
                    p.tls13 = v13;
                }
                "minprotocol" => match openssl_version(value) {
                    Some(v) => min = v.max(12),
                    None => p.ignored.push(line.to_string()),
                },
                "maxprotocol" => match openssl_version(value) {
                    Some(v) if v >= 12 => max = v,
                    Some(_) => {
                        max = 0;
                        p.ignored.push(line.to_string());
                    }
                    None => p.ignored.push(line.to_string()),
                },
                "ciphersuites" => {
                    let names: Vec<&str> = value.split(':').map(str::trim).collect();
                    p.suites.retain(|s| !s.is_tls13() || names.contains(&s.openssl_name()));
                    for n in names.iter().filter(|n| !n.is_empty()) {
                        if !ALL_SUITES.iter().any(|s| s.openssl_name() == *n) {
                            p.ignored.push(format!("Ciphersuites={n}"));
                        }
                    }
                }
                "cipherstring" => p.openssl_cipher_string(value),
                _ => p.ignored.push(line.to_string()),
            }
        }
        p.tls12 &= min <= 12 && max >= 12;
        p.tls13 &= max >= 13;
        p.suites.sort();
        p.suites.dedup();
        p
    }

    /// CipherString: a list of TLS 1.2 names; keywords that select broad sets
    /// (DEFAULT, HIGH, ...) keep every suite, exclusions (`!x`, `-x`) of names
    /// rustls lacks change nothing.
    fn openssl_cipher_string(&mut self, value: &str) {
        let items: Vec<&str> = value
            .split([':', ',', ' '])
            .map(str::trim)
            .filter(|i| !i.is_empty())
            .collect();
        let broad = |i: &str| {
            matches!(
                i.to_ascii_uppercase().as_str(),
                "DEFAULT"
                    | "ALL"
                    | "HIGH"
                    | "ECDHE"
                    | "EECDH"
                    | "AESGCM"
                    | "CHACHA20"
                    | "AES"
                    | "AES256"
                    | "AES128"
                    | "@STRENGTH"
                    | "COMPLEMENTOFDEFAULT"
            ) || i.starts_with("@SECLEVEL")
        };
        let mut selected: Vec<Suite> = Vec::new();
        let mut any_positive = false;
        for item in &items {
            if let Some(rest) = item.strip_prefix(['!', '-']) {
                if let Some(s) = ALL_SUITES.iter().find(|s| !s.is_tls13() && s.openssl_name() == rest) {
                    selected.retain(|x| x != s);
                }
                continue;
            }
            let item = item.trim_start_matches('+');
            any_positive = true;
            if broad(item) {
                selected.extend(ALL_SUITES.iter().filter(|s| !s.is_tls13()));
            } else if let Some(s) = ALL_SUITES.iter().find(|s| !s.is_tls13() && s.openssl_name() == item) {
                selected.push(*s);
            } else {
                self.ignored.push(format!("CipherString={item}"));
            }
        }
        if any_positive {
            self.suites.retain(|s| s.is_tls13() || selected.contains(s));
        }
    }
}

/// The `Cmd=Value` segments as net_ossl.c cuts them: leading blanks skipped;
/// a value ends at the next newline if the rest has one, else at the next
/// `;`; a segment without `=` ends the list.
fn openssl_commands(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s;
    loop {
        rest = rest.trim_start_matches([' ', '\t', '\n', '\r']);
        if rest.is_empty() || !rest.contains('=') {
            break;
        }
        let end = if rest.contains('\n') {
            rest.find('\n')
        } else {
            rest.find(';')
        };
        let (seg, tail) = match end {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, ""),
        };
        let seg = seg.trim_end_matches(['\r', ' ', '\t']);
        if !seg.contains('=') {
            break;
        }
        out.push(seg);
        rest = tail;
    }
    out
}

fn openssl_version(v: &str) -> Option<u8> {
    match v.to_ascii_lowercase().as_str() {
        "tlsv1.3" => Some(13),
        "tlsv1.2" => Some(12),
        "tlsv1.1" => Some(11),
        "tlsv1" | "tlsv1.0" => Some(10),
        "sslv3" => Some(3),
        "none" => Some(12),
        _ => None,
    }
}

fn is_known_gnutls_algo(name: &str) -> bool {
    matches!(
        name,
        "RSA"
            | "DHE-RSA"
            | "DHE-DSS"
            | "ANON-DH"
            | "ANON-ECDH"
            | "PSK"
            | "DHE-PSK"
            | "ECDHE-PSK"
            | "RSA-PSK"
            | "SRP"
            | "SRP-RSA"
            | "SRP-DSS"
            | "AES-128-CBC"
            | "AES-256-CBC"
            | "CAMELLIA-128-CBC"
            | "CAMELLIA-256-CBC"
            | "CAMELLIA-128-GCM"
            | "CAMELLIA-256-GCM"
            | "3DES-CBC"
            | "ARCFOUR-128"
            | "ARCFOUR-40"
            | "AES-128-CCM"
            | "AES-256-CCM"
            | "AES-128-CCM-8"
            | "AES-256-CCM-8"
            | "NULL"
            | "CIPHER-GOST-ALL"
            | "MD5"
            | "SHA1"
            | "MAC-GOST-ALL"
            | "COMP-DEFLATE"
    ) || name.starts_with("VERS-")
        || name.starts_with("SIGN-")
        || name.starts_with("CURVE-")
        || name.starts_with("GROUP-")
        || name.starts_with("MAC-")
        || name.starts_with("CTYPE-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gnutls_keywords_and_versions() {
        let p = Priority::parse("NORMAL");
        assert!(p.tls12 && p.tls13 && p.suites.len() == 9 && p.ignored.is_empty());
        let p = Priority::parse("NORMAL:-VERS-TLS1.3");
        assert!(p.tls12 && !p.tls13);
        let p = Priority::parse("NONE:+VERS-TLS1.2:+ECDHE-RSA:+AES-256-GCM:+SIGN-ALL:+COMP-NULL:+MAC-ALL");
        assert!(p.tls12 && !p.tls13);
        assert_eq!(p.suites, vec![Suite::Tls13Aes256Gcm, Suite::EcdheRsaAes256Gcm]);
        assert!(p.problem().is_none());
        let p = Priority::parse("SECURE256:+VERS-TLS1.0:%COMPAT");
        assert_eq!(p.ignored, vec!["+VERS-TLS1.0", "%COMPAT"]);
        assert!(!p.suites.contains(&Suite::EcdheRsaAes128Gcm));
        let p = Priority::parse("NORMAL:-VERS-ALL:+VERS-TLS1.1");
        assert_eq!(
            p.problem(),
            Some("no TLS version that rustls supports (1.2, 1.3) is left enabled")
        );
        let p = Priority::parse("NORMAL:-RSA:-AES-128-CBC:-VERS-SSL3.0");
        assert!(p.ignored.is_empty() && p.suites.len() == 9);
    }

    #[test]
    fn openssl_commands() {
        let p = Priority::parse("Protocol=-ALL,TLSv1.2");
        assert!(p.tls12 && !p.tls13);
        let p = Priority::parse(
            "Protocol=ALL,-SSLv2,-SSLv3,-TLSv1,-TLSv1.1,-TLSv1.3\nCipherString=ECDHE-RSA-AES256-GCM-SHA384",
        );
        assert!(p.tls12 && !p.tls13 && p.ignored.is_empty());
        assert!(p.suites.contains(&Suite::EcdheRsaAes256Gcm) && !p.suites.contains(&Suite::EcdheRsaAes128Gcm));
        let p = Priority::parse("MinProtocol=TLSv1.3");
        assert!(!p.tls12 && p.tls13);
        let p = Priority::parse("CipherString=DHE-RSA-AES256-SHA\nOptions=-SessionTicket");
        assert_eq!(
            p.ignored,
            vec!["CipherString=DHE-RSA-AES256-SHA", "Options=-SessionTicket"]
        );
        let p = Priority::parse("Protocol=ALL,-TLSv1.2,-TLSv1.3");
        assert!(p.problem().is_some());
        // ';' separates when there is no newline (net_ossl.c).
        let p = Priority::parse("CipherString=ECDHE-RSA-AES256-SHA384;Ciphersuites=TLS_AES_256_GCM_SHA384");
        assert!(p.suites.contains(&Suite::Tls13Aes256Gcm) && !p.suites.contains(&Suite::Tls13Aes128Gcm));
        assert_eq!(super::openssl_commands("A=1;B=2"), vec!["A=1", "B=2"]);
        assert_eq!(super::openssl_commands("A=1;x\nB=2"), vec!["A=1;x", "B=2"]);
        assert_eq!(super::openssl_commands("  A=1\nnoequals\nB=2"), vec!["A=1"]);
        let p = Priority::parse("Ciphersuites=TLS_AES_128_GCM_SHA256");
        assert!(p.suites.contains(&Suite::Tls13Aes128Gcm) && !p.suites.contains(&Suite::Tls13Aes256Gcm));
    }
}
