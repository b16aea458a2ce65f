//! Current upstream's `global(compatibility.defaults.secure="…")` as its
//! imtcp applies it to a `module()` and to each `input()` (also one made by
//! `$InputTCPServerRun`, and to the module settings that legacy directives
//! made when there is no `module()` statement), in this order:
//!
//! 1. `strict`, a TLS-capable stream driver (`gtls`, `ossl`, `mbedtls`: the
//!    own one, else the module's, else `global(defaultNetstreamDriver)`) and
//!    `streamDriver.mode` 0: an explicit mode 0 is an error, an unset one
//!    becomes 1 (TLS on).
//! 2. (inputs) `strict` and zstd stream decompression need an explicit
//!    positive `compression.maxTotalZstdWindowBytes` (set on the input or
//!    inherited from the module).
//! 3. The warnings the host logs in `warn` mode (the default): mode 0 with
//!    TLS hints, mode 0 without, and a TLS listener with `authMode` anon.
//!
//! Hosts without the setting (8.2302, 8.2504) see none of this.

use crate::config::{CompressionSettings, Settings, TlsSettings};
use rsyslog_ffi::compat::SecureDefaults;
use rsyslog_ffi::{ret, RsError, RsResult};

/// Whose settings are checked; names the error text's subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Module,
    Input,
}

impl Scope {
    fn subject(self) -> &'static str {
        match self {
            Scope::Module => "imtcp module",
            Scope::Input => "imtcp input",
        }
    }
}

/// Stream drivers current upstream counts as able to do TLS.
pub fn tls_capable_driver(name: &str) -> bool {
    ["ossl", "gtls", "mbedtls"].iter().any(|d| name.eq_ignore_ascii_case(d))
}

/// The stream driver a listener would use: its own (for an input: its own,
/// else the module's), else the global default, else `ptcp`.
pub fn effective_driver<'a>(tls: &'a TlsSettings, global: Option<&'a str>) -> &'a str {
    tls.driver.as_deref().or(global).unwrap_or("ptcp")
}

/// Step 1: `strict` with a TLS-capable driver and mode 0.
pub fn strict_stream_driver(
    policy: Option<SecureDefaults>,
    tls: &mut TlsSettings,
    driver: &str,
    scope: Scope,
) -> RsResult {
    if policy != Some(SecureDefaults::Strict) || !tls_capable_driver(driver) || tls.mode != 0 {
        return Ok(());
    }
    if tls.mode_set {
        return Err(RsError::new(
            ret::PARAM_ERROR,
            format!(
                "{}: compatibility.defaults.secure=\"strict\" rejects explicit streamdriver.mode=\"0\" with \
                 TLS-capable stream driver \"{driver}\"; use streamdriver.mode=\"1\" to enable TLS or select \
                 ptcp/plain TCP intentionally",
                scope.subject()
            ),
        ));
    }
    tls.mode = 1;
    Ok(())
}

/// Step 2: `strict` and zstd stream decompression without a positive,
/// explicit aggregate window limit.
pub fn strict_zstd_window(policy: Option<SecureDefaults>, c: &CompressionSettings) -> RsResult {
    if policy == Some(SecureDefaults::Strict)
        && c.stream
        && c.zstd
        && (!c.max_total_zstd_window_set || c.max_total_zstd_window == 0)
    {
        return Err(RsError::new(
            ret::PARAM_ERROR,
            "imtcp input: compatibility.defaults.secure=\"strict\" requires an explicit positive \
             compression.maxTotalZstdWindowBytes value for zstd stream decompression",
        ));
    }
    Ok(())
}

/// Step 3: what the host is asked to warn about (it does so in `warn` mode).
pub fn insecure_listener_details(mode: i64, driver: &str, auth_mode: Option<&str>) -> Vec<&'static str> {
    let mut v = Vec::new();
    if mode == 0 {
        v.push(if auth_mode.is_some() || tls_capable_driver(driver) {
            "imtcp has TLS-related settings but streamdriver.mode=\"0\"; mode 0 uses plain TCP so TLS is not \
             active (see https://docs.rsyslog.com/doc/faq/tls_mode0_disables_tls.html)"
        } else {
            "imtcp input uses streamdriver.mode=\"0\" (plain TCP without TLS); see \
             https://docs.rsyslog.com/doc/faq/tls_mode0_disables_tls.html"
        });
    }
    if mode != 0 && auth_mode.is_some_and(|m| m.eq_ignore_ascii_case("anon")) {
        v.push(
            "imtcp uses streamdriver.authmode=\"anon\"; server identity is not authenticated, so MITM is possible \
             (see https://docs.rsyslog.com/doc/faq/tls_anon_auth_mitm.html)",
        );
    }
    v
}

/// Steps 1 to 3 for one scope: adjusts `s`, or fails; returns the warning
/// texts for the host.
pub fn apply(
    policy: Option<SecureDefaults>,
    s: &mut Settings,
    global_driver: Option<&str>,
    scope: Scope,
) -> RsResult<Vec<&'static str>> {
    let driver = effective_driver(&s.tls, global_driver).to_owned();
    strict_stream_driver(policy, &mut s.tls, &driver, scope)?;
    if scope == Scope::Input {
        strict_zstd_window(policy, &s.compression)?;
    }
    Ok(insecure_listener_details(
        s.tls.mode,
        &driver,
        s.tls.auth_mode.as_deref(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use SecureDefaults::*;

    fn tls(driver: Option<&str>, mode: Option<i64>) -> TlsSettings {
        TlsSettings {
            driver: driver.map(str::to_owned),
            mode: mode.unwrap_or(0),
            mode_set: mode.is_some(),
            ..TlsSettings::default()
        }
    }

    #[test]
    fn drivers_that_count_as_tls() {
        for d in ["gtls", "OSSL", "mbedtls"] {
            assert!(tls_capable_driver(d), "{d}");
        }
        for d in ["ptcp", "", "gtlsx", "relp"] {
            assert!(!tls_capable_driver(d), "{d}");
        }
        let t = tls(None, None);
        assert_eq!(effective_driver(&t, None), "ptcp");
        assert_eq!(effective_driver(&t, Some("gtls")), "gtls");
        let t = tls(Some("ossl"), None);
        assert_eq!(effective_driver(&t, Some("gtls")), "ossl");
    }

    #[test]
    fn strict_promotes_an_unset_mode_and_rejects_an_explicit_zero() {
        let mut t = tls(Some("gtls"), None);
        strict_stream_driver(Some(Strict), &mut t, "gtls", Scope::Input).unwrap();
        assert_eq!(t.mode, 1);

        let mut t = tls(None, Some(0));
        let e = strict_stream_driver(Some(Strict), &mut t, "gtls", Scope::Input).unwrap_err();
        assert_eq!(e.code, ret::PARAM_ERROR);
        let m = e.msg.unwrap();
        assert!(
            m.starts_with(
                "imtcp input: compatibility.defaults.secure=\"strict\" rejects explicit streamdriver.mode=\"0\""
            ),
            "{m}"
        );
        assert!(m.contains("TLS-capable stream driver \"gtls\""), "{m}");
        let e = strict_stream_driver(Some(Strict), &mut t, "ossl", Scope::Module).unwrap_err();
        assert!(e.msg.unwrap().starts_with("imtcp module: "));
    }

    #[test]
    fn strict_leaves_plain_drivers_other_policies_and_tls_alone() {
        for (policy, driver, mode) in [
            (Some(Strict), "ptcp", Some(0)),
            (Some(Strict), "gtls", Some(1)),
            (Some(Warn), "gtls", Some(0)),
            (Some(BackwardCompatible), "gtls", None),
            (None, "gtls", Some(0)),
        ] {
            let mut t = tls(Some(driver), mode);
            let before = t.clone();
            strict_stream_driver(policy, &mut t, driver, Scope::Input).unwrap();
            assert_eq!(t, before, "{policy:?} {driver} {mode:?}");
        }
    }

    #[test]
    fn strict_zstd_needs_an_explicit_positive_window() {
        let c = |stream, zstd, window: Option<i64>| CompressionSettings {
            stream,
            zstd,
            max_total_zstd_window: window.unwrap_or(64 << 20),
            max_total_zstd_window_set: window.is_some(),
            ..CompressionSettings::default()
        };
        let e = strict_zstd_window(Some(Strict), &c(true, true, None)).unwrap_err();
        assert!(e.msg.unwrap().contains(
            "compatibility.defaults.secure=\"strict\" requires an explicit positive compression.maxTotalZstdWindowBytes"
        ));
        assert!(strict_zstd_window(Some(Strict), &c(true, true, Some(0))).is_err());
        assert!(strict_zstd_window(Some(Strict), &c(true, true, Some(2 << 20))).is_ok());
        assert!(strict_zstd_window(Some(Strict), &c(true, false, None)).is_ok(), "zlib");
        assert!(
            strict_zstd_window(Some(Strict), &c(false, true, None)).is_ok(),
            "mode none"
        );
        assert!(strict_zstd_window(Some(Warn), &c(true, true, Some(0))).is_ok());
        assert!(strict_zstd_window(None, &c(true, true, None)).is_ok());
    }

    #[test]
    fn warning_texts() {
        let hints = insecure_listener_details(0, "gtls", None);
        assert_eq!(hints.len(), 1);
        assert!(hints[0].starts_with(
            "imtcp has TLS-related settings but streamdriver.mode=\"0\"; mode 0 uses plain TCP so TLS is not active"
        ));
        assert_eq!(insecure_listener_details(0, "ptcp", Some("x509/name")), hints);
        let plain = insecure_listener_details(0, "ptcp", None);
        assert!(plain[0].starts_with("imtcp input uses streamdriver.mode=\"0\" (plain TCP without TLS)"));
        let anon = insecure_listener_details(1, "gtls", Some("Anon"));
        assert_eq!(anon.len(), 1);
        assert!(anon[0].starts_with(
            "imtcp uses streamdriver.authmode=\"anon\"; server identity is not authenticated, so MITM is possible"
        ));
        assert!(insecure_listener_details(1, "gtls", Some("x509/name")).is_empty());
    }

    #[test]
    fn inputs_inherit_the_modules_explicit_window_and_promoted_mode() {
        let mut module = Settings::default();
        module.compression.stream = true;
        module.compression.zstd = true;
        module.compression.max_total_zstd_window = 2 << 20;
        module.compression.max_total_zstd_window_set = true;
        let w = apply(Some(Strict), &mut module, Some("gtls"), Scope::Module).unwrap();
        assert!(w.is_empty());
        assert_eq!(module.tls.mode, 1, "unset mode with the global gtls default: TLS on");
        let mut input = module.clone();
        assert!(apply(Some(Strict), &mut input, Some("gtls"), Scope::Input).is_ok());
        // the module has no zstd check of its own
        let mut m2 = Settings::default();
        m2.compression.stream = true;
        m2.compression.zstd = true;
        assert!(apply(Some(Strict), &mut m2.clone(), None, Scope::Module).is_ok());
        assert!(apply(Some(Strict), &mut m2, None, Scope::Input).is_err());
    }
}
