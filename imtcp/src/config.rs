//! imtcp's parameters: every module and input parameter of rsyslog 8.2302,
//! 8.2504 and current upstream, with the C module's defaults, and the
//! validation the C module does on top of rsyslog's type checks.

use rsyslog_ffi::config::Params;
use rsyslog_ffi::{param_block, parser_errmsg, ret, RsError, RsResult};

param_block!(pub MODULE_PARAMS = [
    "flowcontrol": Binary,
    "disablelfdelimiter": Binary,
    "discardtruncatedmsg": Binary,
    "octetcountedframing": Binary,
    "notifyonconnectionclose": Binary,
    "notifyonconnectionopen": Binary,
    "addtlframedelimiter": NonNegInt,
    "maxframesize": Int,
    "maxsessions": PositiveInt,
    "maxlistners": PositiveInt,
    "maxlisteners": PositiveInt,
    "workerthreads": PositiveInt,
    "starvationprotection.maxreads": NonNegInt,
    "streamdriver.mode": NonNegInt,
    "streamdriver.authmode": String,
    "streamdriver.permitexpiredcerts": String,
    "streamdriver.name": String,
    "streamdriver.CheckExtendedKeyPurpose": Binary,
    "streamdriver.PrioritizeSAN": Binary,
    "streamdriver.TlsVerifyDepth": PositiveInt,
    "streamdriver.TlsRevocationCheck": Binary,
    "streamdriver.handshakeTimeout": PositiveInt,
    "streamdriver.cafile": String,
    "streamdriver.crlfile": String,
    "streamdriver.keyfile": String,
    "streamdriver.certfile": String,
    "permittedpeer": Array,
    "allowedsender": Array,
    "keepalive": Binary,
    "keepalive.probes": NonNegInt,
    "keepalive.time": NonNegInt,
    "keepalive.interval": NonNegInt,
    "gnutlsprioritystring": String,
    "preservecase": Binary,
    "compression.mode": String,
    "compression.driver": String,
    "compression.maxexpansionratio": NonNegInt,
    "compression.maxdecompressedbytesperreceive": NonNegInt,
    "compression.maxtotalzstdwindowbytes": NonNegInt,
    "networknamespace": String,
]);

param_block!(pub INPUT_PARAMS = [
    #[required] "port": String,
    "maxsessions": PositiveInt,
    "maxlisteners": PositiveInt,
    "workerthreads": PositiveInt,
    "flowcontrol": Binary,
    "disablelfdelimiter": Binary,
    "discardtruncatedmsg": Binary,
    "notifyonconnectionclose": Binary,
    "notifyonconnectionopen": Binary,
    "addtlframedelimiter": NonNegInt,
    "maxframesize": Int,
    "preservecase": Binary,
    "listenportfilename": String,
    "address": String,
    "name": String,
    "defaulttz": String,
    "ruleset": String,
    "starvationprotection.maxreads": NonNegInt,
    "streamdriver.mode": NonNegInt,
    "streamdriver.authmode": String,
    "streamdriver.permitexpiredcerts": String,
    "streamdriver.name": String,
    "streamdriver.CheckExtendedKeyPurpose": Binary,
    "streamdriver.PrioritizeSAN": Binary,
    "streamdriver.TlsVerifyDepth": PositiveInt,
    "streamdriver.TlsRevocationCheck": Binary,
    "streamdriver.handshakeTimeout": PositiveInt,
    "streamdriver.cafile": String,
    "streamdriver.crlfile": String,
    "streamdriver.keyfile": String,
    "streamdriver.certfile": String,
    "permittedpeer": Array,
    "allowedsender": Array,
    "gnutlsprioritystring": String,
    "keepalive": Binary,
    "keepalive.probes": NonNegInt,
    "keepalive.time": NonNegInt,
    "keepalive.interval": NonNegInt,
    "supportoctetcountedframing": Binary,
    "ratelimit.interval": Int,
    "framingfix.cisco.asa": Binary,
    "ratelimit.burst": Int,
    "ratelimit.name": String,
    "socketbacklog": NonNegInt,
    "networknamespace": String,
    "compression.mode": String,
    "compression.driver": String,
    "compression.maxexpansionratio": NonNegInt,
    "compression.maxdecompressedbytesperreceive": NonNegInt,
    "compression.maxtotalzstdwindowbytes": NonNegInt,
    "multiline": Binary,
    "framing.delimiter.regex": String,
]);

/// The largest maxFrameSize the C module accepts.
pub const MAX_FRAME_SIZE_LIMIT: i64 = 200_000_000;

/// TLS settings (served by rustls in a later stage).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    pub mode: i64,
    /// Was `streamDriver.mode` given (module, input or legacy directive)?
    /// Current upstream's strict secure defaults tell an explicit 0 from none.
    pub mode_set: bool,
    pub auth_mode: Option<String>,
    pub permit_expired: Option<String>,
    pub driver: Option<String>,
    pub check_extended_key_purpose: bool,
    pub prioritize_san: bool,
    pub verify_depth: i64,
    pub revocation_check: bool,
    pub ca_file: Option<String>,
    pub crl_file: Option<String>,
    pub key_file: Option<String>,
    pub cert_file: Option<String>,
    pub permitted_peers: Vec<String>,
    pub priority_string: Option<String>,
    /// Seconds a TLS handshake may take (ours; the C drivers have no limit).
    pub handshake_timeout: i64,
}

/// Default of streamDriver.handshakeTimeout, in seconds.
pub const DEFAULT_HANDSHAKE_TIMEOUT: i64 = 30;

impl Default for TlsSettings {
    fn default() -> Self {
        TlsSettings {
            mode: 0,
            mode_set: false,
            auth_mode: None,
            permit_expired: None,
            driver: None,
            check_extended_key_purpose: false,
            prioritize_san: false,
            verify_depth: 0,
            revocation_check: false,
            ca_file: None,
            crl_file: None,
            key_file: None,
            cert_file: None,
            permitted_peers: Vec::new(),
            priority_string: None,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
        }
    }
}

/// Stream decompression settings (`compression.*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompressionSettings {
    pub stream: bool,
    pub zstd: bool,
    pub max_expansion_ratio: i64,
    pub max_decompressed_per_receive: i64,
    pub max_total_zstd_window: i64,
    /// Was `compression.maxTotalZstdWindowBytes` given (an input inherits
    /// the module's)? Current upstream's strict secure defaults require it.
    pub max_total_zstd_window_set: bool,
}

impl Default for CompressionSettings {
    fn default() -> Self {
        CompressionSettings {
            stream: false,
            zstd: false,
            max_expansion_ratio: 1024,
            max_decompressed_per_receive: 64 << 20,
            max_total_zstd_window: 64 << 20,
            max_total_zstd_window_set: false,
        }
    }
}

/// Settings a module() gives and an input() may override.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub flow_control: bool,
    pub disable_lf: bool,
    pub discard_truncated: bool,
    pub octet_counted: bool,
    pub notify_close: bool,
    pub notify_open: bool,
    pub addtl_delimiter: i32,
    pub max_frame_size: i64,
    pub max_sessions: i64,
    pub max_listeners: i64,
    pub worker_threads: i64,
    pub starvation_max_reads: i64,
    pub keepalive: bool,
    pub keepalive_probes: i64,
    pub keepalive_time: i64,
    pub keepalive_interval: i64,
    pub preserve_case: bool,
    pub allowed_senders: Option<Vec<String>>,
    pub network_namespace: Option<String>,
    pub tls: TlsSettings,
    pub compression: CompressionSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            flow_control: true,
            disable_lf: false,
            discard_truncated: false,
            octet_counted: true,
            notify_close: false,
            notify_open: false,
            addtl_delimiter: -1,
            max_frame_size: 200_000,
            max_sessions: 200,
            max_listeners: 20,
            worker_threads: 2,
            starvation_max_reads: 500,
            keepalive: false,
            keepalive_probes: 0,
            keepalive_time: 0,
            keepalive_interval: 0,
            preserve_case: true,
            allowed_senders: None,
            network_namespace: None,
            tls: TlsSettings::default(),
            compression: CompressionSettings::default(),
        }
    }
}

/// One `input(type="imtcp")`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputConfig {
    pub port: String,
    pub address: Option<String>,
    pub name: String,
    pub default_tz: Option<String>,
    pub ruleset: Option<String>,
    pub listen_port_file: Option<String>,
    pub ratelimit_interval: i64,
    pub ratelimit_burst: i64,
    pub ratelimit_name: Option<String>,
    pub cisco_asa: bool,
    pub socket_backlog: i64,
    pub multiline: bool,
    pub delimiter_regex: Option<String>,
    /// Did the input set supportOctetCountedFraming itself? (Otherwise checkCnf
    /// takes the module's value, which legacy directives may have changed.)
    pub octet_counted_set: bool,
    pub settings: Settings,
}

impl InputConfig {
    pub fn new(port: String, settings: Settings) -> Self {
        InputConfig {
            port,
            address: None,
            name: "imtcp".into(),
            default_tz: None,
            ruleset: None,
            listen_port_file: None,
            ratelimit_interval: 0,
            ratelimit_burst: 10_000,
            ratelimit_name: None,
            cisco_asa: false,
            socket_backlog: 0,
            multiline: false,
            delimiter_regex: None,
            octet_counted_set: false,
            settings,
        }
    }
}

/// The C module stores the value as an `int` first, then checks the upper bound.
fn max_frame_size(v: i64) -> RsResult<i64> {
    let v = v as i32;
    if v as i64 > MAX_FRAME_SIZE_LIMIT {
        return Err(RsError::new(
            ret::PARAM_ERROR,
            format!("imtcp: invalid value for 'maxFrameSize' parameter given is {v}, max is 200000000"),
        ));
    }
    Ok(v as i64)
}

fn compression_mode(v: &str) -> RsResult<bool> {
    match v.to_ascii_lowercase().as_str() {
        "none" => Ok(false),
        "stream:always" => Ok(true),
        _ => Err(RsError::new(
            ret::PARAM_ERROR,
            format!("imtcp: invalid compression.mode '{v}', supported values are 'none' and 'stream:always'"),
        )),
    }
}

fn compression_driver(v: &str) -> RsResult<bool> {
    match v.to_ascii_lowercase().as_str() {
        "zlib" => Ok(false),
        "zstd" => Ok(true),
        _ => Err(RsError::new(
            ret::PARAM_ERROR,
            format!("imtcp: invalid compression.driver '{v}', supported values are 'zlib' and 'zstd'"),
        )),
    }
}

/// Applies the parameters both module() and input() share. `module` selects
/// the module-only alias `maxlistners`.
pub fn apply_shared(s: &mut Settings, p: &Params) -> RsResult {
    let b = |n: &str| p.bool(n);
    let n = |n: &str| p.num(n);
    if let Some(v) = b("flowcontrol") {
        s.flow_control = v;
    }
    if let Some(v) = b("disablelfdelimiter") {
        s.disable_lf = v;
    }
    if let Some(v) = b("discardtruncatedmsg") {
        s.discard_truncated = v;
    }
    if let Some(v) = b("notifyonconnectionclose") {
        s.notify_close = v;
    }
    if let Some(v) = b("notifyonconnectionopen") {
        s.notify_open = v;
    }
    if let Some(v) = n("addtlframedelimiter") {
        s.addtl_delimiter = v as i32;
    }
    if let Some(v) = n("maxframesize") {
        s.max_frame_size = max_frame_size(v)?;
    }
    if let Some(v) = n("maxsessions") {
        s.max_sessions = v;
    }
    if let Some(v) = n("maxlisteners").or_else(|| n("maxlistners")) {
        s.max_listeners = v;
    }
    if let Some(v) = n("workerthreads") {
        s.worker_threads = v;
    }
    if let Some(v) = n("starvationprotection.maxreads") {
        s.starvation_max_reads = v;
    }
    if let Some(v) = b("keepalive") {
        s.keepalive = v;
    }
    if let Some(v) = n("keepalive.probes") {
        s.keepalive_probes = v;
    }
    if let Some(v) = n("keepalive.time") {
        s.keepalive_time = v;
    }
    if let Some(v) = n("keepalive.interval") {
        s.keepalive_interval = v;
    }
    if let Some(v) = b("preservecase") {
        s.preserve_case = v;
    }
    if let Some(v) = p.array("allowedsender") {
        if v.is_empty() {
            return Err(RsError::new(
                ret::INVALID_PARAMS,
                "imtcp: allowedSender array must not be empty".to_string(),
            ));
        }
        s.allowed_senders = Some(v);
    }
    if let Some(v) = p.string("networknamespace") {
        s.network_namespace = Some(v);
    }
    let t = &mut s.tls;
    if let Some(v) = n("streamdriver.mode") {
        t.mode = v;
        t.mode_set = true;
    }
    for (name, slot) in [
        ("streamdriver.authmode", &mut t.auth_mode),
        ("streamdriver.permitexpiredcerts", &mut t.permit_expired),
        ("streamdriver.name", &mut t.driver),
        ("streamdriver.cafile", &mut t.ca_file),
        ("streamdriver.crlfile", &mut t.crl_file),
        ("streamdriver.keyfile", &mut t.key_file),
        ("streamdriver.certfile", &mut t.cert_file),
        ("gnutlsprioritystring", &mut t.priority_string),
    ] {
        if let Some(v) = p.string(name) {
            *slot = Some(v);
        }
    }
    if let Some(v) = b("streamdriver.CheckExtendedKeyPurpose") {
        t.check_extended_key_purpose = v;
    }
    if let Some(v) = b("streamdriver.PrioritizeSAN") {
        t.prioritize_san = v;
    }
    if let Some(v) = b("streamdriver.TlsRevocationCheck") {
        t.revocation_check = v;
    }
    if let Some(v) = n("streamdriver.handshakeTimeout") {
        t.handshake_timeout = v;
    }
    if let Some(v) = n("streamdriver.TlsVerifyDepth") {
        if v >= 2 {
            t.verify_depth = v;
        } else {
            parser_errmsg(&format!("streamdriver.TlsVerifyDepth must be 2 or higher but is {v}"));
        }
    }
    if let Some(v) = p.array("permittedpeer") {
        t.permitted_peers = v;
    }
    let c = &mut s.compression;
    if let Some(v) = p.string("compression.mode") {
        c.stream = compression_mode(&v)?;
    }
    if let Some(v) = p.string("compression.driver") {
        c.zstd = compression_driver(&v)?;
    }
    if let Some(v) = n("compression.maxexpansionratio") {
        c.max_expansion_ratio = v;
    }
    if let Some(v) = n("compression.maxdecompressedbytesperreceive") {
        c.max_decompressed_per_receive = v;
    }
    if let Some(v) = n("compression.maxtotalzstdwindowbytes") {
        c.max_total_zstd_window = v;
        c.max_total_zstd_window_set = true;
    }
    Ok(())
}

/// Module-level parameters; `octetcountedframing` is the module spelling.
pub fn apply_module(s: &mut Settings, p: &Params) -> RsResult {
    apply_shared(s, p)?;
    if let Some(v) = p.bool("octetcountedframing") {
        s.octet_counted = v;
    }
    Ok(())
}

/// Input-level parameters on top of a copy of the module settings.
pub fn parse_input(module: &Settings, p: &Params) -> RsResult<InputConfig> {
    let port = p.string("port").unwrap_or_default();
    let mut i = InputConfig::new(port, module.clone());
    apply_shared(&mut i.settings, p)?;
    if let Some(v) = p.bool("supportoctetcountedframing") {
        i.settings.octet_counted = v;
        i.octet_counted_set = true;
    }
    i.address = p.string("address");
    if let Some(v) = p.string("name") {
        i.name = v;
    }
    i.default_tz = p.string("defaulttz");
    i.ruleset = p.string("ruleset");
    i.listen_port_file = p.string("listenportfilename");
    if let Some(v) = p.num("ratelimit.interval") {
        i.ratelimit_interval = v;
    }
    if let Some(v) = p.num("ratelimit.burst") {
        i.ratelimit_burst = v;
    }
    i.ratelimit_name = p.string("ratelimit.name");
    if i.ratelimit_name.is_some() && (p.is_set("ratelimit.interval") || p.is_set("ratelimit.burst")) {
        rsyslog_ffi::log_error(
            0,
            ret::INVALID_PARAMS,
            "imtcp: ratelimit.name is mutually exclusive with ratelimit.interval and ratelimit.burst - using named \
             ratelimit",
        );
    }
    if let Some(v) = p.bool("framingfix.cisco.asa") {
        i.cisco_asa = v;
    }
    if let Some(v) = p.num("socketbacklog") {
        i.socket_backlog = v;
    }
    if let Some(v) = p.bool("multiline") {
        i.multiline = v;
    }
    i.delimiter_regex = p.string("framing.delimiter.regex");
    Ok(i)
}

/// The values of the legacy `$InputTCP…` directives (C: imtcp.c's static
/// `cs`), kept while a config is loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Legacy {
    pub max_sessions: i32,
    pub max_listeners: i32,
    pub octet_counted: bool,
    pub driver_mode: i32,
    /// Did `$InputTCPServerStreamDriverMode` set the mode (since the last reset)?
    pub driver_mode_set: bool,
    pub flow_control: bool,
    pub keepalive: bool,
    pub keepalive_probes: i32,
    pub keepalive_time: i32,
    pub keepalive_interval: i32,
    pub notify_close: bool,
    pub addtl_delimiter: i32,
    /// No directive sets it; endCnfLoad copies it all the same.
    pub max_frame_size: i32,
    pub disable_lf: bool,
    pub preserve_case: bool,
    pub auth_mode: Option<String>,
    pub input_name: Option<String>,
    pub listen_port_file: Option<String>,
    /// Reset by `$ResetConfigVariables` only where the host's imtcp resets
    /// it (see `reset_clears_bind_ruleset`).
    pub bind_ruleset: Option<String>,
    /// `$InputTCPServerStreamDriverPermittedPeer`, accumulating; never reset.
    pub permitted_peers: Vec<String>,
    /// Current upstream's imtcp forgets the bind ruleset on
    /// `$ResetConfigVariables`; 8.2302 and 8.2504 keep it.
    pub reset_clears_bind_ruleset: bool,
}

impl Default for Legacy {
    fn default() -> Self {
        let mut l = Legacy {
            max_sessions: 0,
            max_listeners: 0,
            octet_counted: false,
            driver_mode: 0,
            driver_mode_set: false,
            flow_control: false,
            keepalive: false,
            keepalive_probes: 0,
            keepalive_time: 0,
            keepalive_interval: 0,
            notify_close: false,
            addtl_delimiter: 0,
            max_frame_size: 0,
            disable_lf: false,
            preserve_case: false,
            auth_mode: None,
            input_name: None,
            listen_port_file: None,
            bind_ruleset: None,
            permitted_peers: Vec::new(),
            reset_clears_bind_ruleset: false,
        };
        l.reset();
        l
    }
}

impl Legacy {
    /// `$ResetConfigVariables` (C: resetConfigVariables, also run at beginCnfLoad).
    pub fn reset(&mut self) {
        self.max_sessions = 200;
        self.max_listeners = 20;
        self.octet_counted = true;
        self.driver_mode = 0;
        self.driver_mode_set = false;
        self.flow_control = true;
        self.keepalive = false;
        self.keepalive_probes = 0;
        self.keepalive_time = 0;
        self.keepalive_interval = 0;
        self.notify_close = false;
        self.addtl_delimiter = -1;
        self.max_frame_size = 200_000;
        self.disable_lf = false;
        self.preserve_case = true;
        self.auth_mode = None;
        self.input_name = None;
        self.listen_port_file = None;
        if self.reset_clears_bind_ruleset {
            self.bind_ruleset = None;
        }
    }

    /// `$InputTCPServerRun <port>` (C: addInstance): an input with the module's
    /// settings as they are at this point, overridden by the current legacy
    /// values; port 10514 when none is given; 2 workers and 500 reads of
    /// starvation protection whatever the module says.
    pub fn input(&self, module: &Settings, port: Option<String>) -> InputConfig {
        let mut i = InputConfig::new(port.unwrap_or_else(|| "10514".into()), module.clone());
        i.ruleset = self.bind_ruleset.clone();
        i.listen_port_file = self.listen_port_file.clone();
        if let Some(n) = &self.input_name {
            i.name = n.clone();
        }
        i.octet_counted_set = true;
        let s = &mut i.settings;
        s.octet_counted = self.octet_counted;
        s.tls.mode = self.driver_mode as i64;
        s.tls.mode_set = self.driver_mode_set;
        s.keepalive = self.keepalive;
        s.flow_control = self.flow_control;
        s.disable_lf = self.disable_lf;
        s.notify_close = self.notify_close;
        s.preserve_case = self.preserve_case;
        s.keepalive_probes = self.keepalive_probes as i64;
        s.keepalive_interval = self.keepalive_interval as i64;
        s.keepalive_time = self.keepalive_time as i64;
        s.addtl_delimiter = self.addtl_delimiter;
        s.max_listeners = self.max_listeners as i64;
        s.max_sessions = self.max_sessions as i64;
        s.worker_threads = 2;
        s.starvation_max_reads = 500;
        i
    }

    /// endCnfLoad of a config without `module(load="imtcp" ...)`: the module
    /// settings take the legacy module-global values.
    pub fn apply_to_module(&self, s: &mut Settings) {
        s.max_sessions = self.max_sessions as i64;
        s.max_listeners = self.max_listeners as i64;
        s.tls.mode = self.driver_mode as i64;
        s.tls.mode_set = self.driver_mode_set;
        s.notify_close = self.notify_close;
        s.octet_counted = self.octet_counted;
        s.addtl_delimiter = self.addtl_delimiter;
        s.max_frame_size = self.max_frame_size as i64;
        s.disable_lf = self.disable_lf;
        s.flow_control = self.flow_control;
        s.keepalive = self.keepalive;
        s.keepalive_probes = self.keepalive_probes as i64;
        s.keepalive_interval = self.keepalive_interval as i64;
        s.keepalive_time = self.keepalive_time as i64;
        if !self.permitted_peers.is_empty() {
            s.tls.permitted_peers = self.permitted_peers.clone();
        }
        s.tls.auth_mode = self.auth_mode.clone();
        s.preserve_case = self.preserve_case;
    }
}

/// checkCnf: what an input left unset comes from the module settings as they
/// are after endCnfLoad (octet-counted framing; the TLS settings the C module
/// looks up in the module config when the listener starts).
pub fn complete_input(i: &mut InputConfig, module: &Settings) {
    if !i.octet_counted_set {
        i.settings.octet_counted = module.octet_counted;
    }
    let (t, m) = (&mut i.settings.tls, &module.tls);
    // imtcp.c addListner: every string setting the input left unset is the module's.
    for (own, module) in [
        (&mut t.auth_mode, &m.auth_mode),
        (&mut t.driver, &m.driver),
        (&mut t.permit_expired, &m.permit_expired),
        (&mut t.ca_file, &m.ca_file),
        (&mut t.crl_file, &m.crl_file),
        (&mut t.key_file, &m.key_file),
        (&mut t.cert_file, &m.cert_file),
        (&mut t.priority_string, &m.priority_string),
    ] {
        if own.is_none() {
            own.clone_from(module);
        }
    }
    if t.permitted_peers.is_empty() {
        t.permitted_peers = m.permitted_peers.clone();
    }
}

/// Why `streamDriver.TlsRevocationCheck="on"` stops the listener, for the
/// named driver (gtls, mbedtls and ptcp: current upstream's texts).
pub fn revocation_check_refused(driver: &str) -> String {
    let why = match driver {
        "gtls" => "GnuTLS does not implement OCSP checking",
        "mbedtls" => "mbedTLS does not implement OCSP checking",
        "ptcp" => "plain TCP has no TLS",
        _ => {
            return format!(
                "error: TLS revocation checking not supported by {driver} netstream driver of this imtcp \
                 (it serves TLS with rustls, which does not implement OCSP checking; use streamDriver.CRLFile)"
            )
        }
    };
    format!("error: TLS revocation checking not supported by {driver} netstream driver ({why})")
}

/// The TLS side of one input, resolved: driver, files, checks, priority string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsPlan {
    pub driver: crate::tls::Driver,
    pub files: crate::tls::TlsFiles,
    pub policy: crate::tls::PeerPolicy,
    pub priority: Option<String>,
    /// Errors the C driver logs while still starting the listener.
    pub notes: Vec<(rsyslog_ffi::abi::RsRetVal, String)>,
}

/// Resolves an input's TLS settings against global() (`g`) for a host of
/// `family`: `Ok(None)` for a plain listener, an error code and text for a
/// config the C drivers would refuse at listener setup.
pub fn tls_plan(
    t: &TlsSettings,
    g: &rsyslog_ffi::obj::NetstreamDefaults,
    family: rsyslog_ffi::host::HostFamily,
) -> Result<Option<TlsPlan>, (rsyslog_ffi::abi::RsRetVal, String)> {
    use crate::tls::{AuthMode, Driver, Expired, PeerPolicy, TlsFiles};
    use rsyslog_ffi::ret;
    let name = t
        .driver
        .clone()
        .or_else(|| g.driver.clone())
        .unwrap_or_else(|| "ptcp".into());
    let driver = Driver::by_name(&name);
    let is_ptcp = name.eq_ignore_ascii_case("ptcp");
    let mut notes = Vec::new();
    if is_ptcp {
        // nsd_ptcp.c: mode 1 and every TLS setting fail the listener, in
        // LstnInit's order of setters.
        let refuse = |text: String| Err((ret::VALUE_NOT_SUPPORTED, text));
        if t.mode != 0 {
            return Err((
                ret::INVALID_DRVR_MODE,
                format!("error: driver mode {} not supported by ptcp netstream driver", t.mode),
            ));
        }
        if t.check_extended_key_purpose {
            return refuse("error: driver ChkExtendedKeyUsage 1 not supported by ptcp netstream driver".into());
        }
        if t.prioritize_san {
            return refuse("error: driver prioritizeSan 1 not supported by ptcp netstream driver".into());
        }
        if let Some(v) = &t.ca_file {
            return refuse(format!(
                "error: CA File setting not supported by ptcp netstream driver - value {v}"
            ));
        }
        if let Some(v) = &t.crl_file {
            return refuse(format!(
                "error: CRL File setting not supported by ptcp netstream driver - value {v}"
            ));
        }
        if t.key_file.is_some() {
            return refuse("error: TLS Key File setting not supported by ptcp netstream driver".into());
        }
        if t.cert_file.is_some() {
            return refuse("error: TLS Cert File setting not supported by ptcp netstream driver".into());
        }
        if t.revocation_check {
            return refuse(revocation_check_refused("ptcp"));
        }
        if let Some(m) = t.auth_mode.as_deref().filter(|m| !m.eq_ignore_ascii_case("anon")) {
            return refuse(format!(
                "error: authentication mode '{m}' not supported by ptcp netstream driver"
            ));
        }
        if t.permit_expired.is_some() {
            return refuse("error: permitexpiredcerts setting not supported by ptcp netstream driver".into());
        }
        if !t.permitted_peers.is_empty() {
            return Err((
                ret::VALUE_NOT_IN_THIS_MODE,
                "authentication not supported by ptcp netstream driver".into(),
            ));
        }
        if let Some(v) = &t.priority_string {
            return refuse(format!(
                "error: gnutlsPriorityString '{v}' not supported by ptcp netstream driver"
            ));
        }
        return Ok(None);
    }
    let Some(driver) = driver else {
        return Err((
            ret::LOAD_ERROR,
            format!(
                "could not load module 'lmnsd_{name}': imtcp serves TLS with rustls for the drivers gtls, ossl and mbedtls; '{name}' is not one of them"
            ),
        ));
    };
    if t.mode != 0 && t.mode != 1 {
        let text = format!(
            "error: driver mode {} not supported by {} netstream driver",
            t.mode,
            driver.name()
        );
        // nsd_ossl.c logs it but goes on with TLS; gtls fails the listener.
        if driver != Driver::Ossl {
            return Err((ret::INVALID_DRVR_MODE, text));
        }
        notes.push((ret::INVALID_DRVR_MODE, text));
    }
    // No driver of ours checks revocation online (OCSP): the listener is
    // not started rather than run without the check the admin asked for.
    // gtls and mbedtls refuse it in every mode (current upstream's texts);
    // a plain listener through the ossl driver has no peer to check.
    if t.revocation_check && (driver != Driver::Ossl || t.mode != 0) {
        return Err((ret::VALUE_NOT_SUPPORTED, revocation_check_refused(driver.name())));
    }
    let auth = match t.auth_mode.as_deref() {
        None => AuthMode::Name,
        Some(m) => AuthMode::parse(m).ok_or_else(|| {
            (
                ret::VALUE_NOT_SUPPORTED,
                format!(
                    "error: authentication mode '{m}' not supported by {} netstream driver",
                    driver.name()
                ),
            )
        })?,
    };
    let expired = match t.permit_expired.as_deref() {
        None => Expired::Deny,
        Some(m) => Expired::parse(m).ok_or_else(|| {
            (
                ret::VALUE_NOT_SUPPORTED,
                format!(
                    "error: permitexpiredcerts mode '{m}' not supported by {} netstream driver",
                    driver.name()
                ),
            )
        })?,
    };
    if t.mode == 0 {
        // Plain TCP through a TLS driver: the settings were checked, no TLS.
        return Ok(None);
    }
    let pick = |own: &Option<String>, global: &Option<String>| own.clone().or_else(|| global.clone());
    Ok(Some(TlsPlan {
        driver,
        files: TlsFiles {
            ca: pick(&t.ca_file, &g.ca),
            crl: pick(&t.crl_file, &g.crl),
            cert: pick(&t.cert_file, &g.cert),
            key: pick(&t.key_file, &g.key),
            ca_extra: g.ca_extra.clone(),
        },
        policy: PeerPolicy {
            driver,
            host: family,
            auth,
            expired,
            check_purpose: t.check_extended_key_purpose,
            prioritize_san: t.prioritize_san,
            verify_depth: usize::try_from(t.verify_depth).unwrap_or(0),
            permitted: t.permitted_peers.clone(),
        },
        priority: t.priority_string.clone(),
        notes,
    }))
}

/// Parses the listen port as the C module does: leading decimal digits.
pub fn parse_port(s: &str) -> Option<u16> {
    let digits: String = s.chars().take_while(|c| c.is_ascii_digit()).collect();
    if digits.is_empty() {
        return Some(0).filter(|_| s.is_empty());
    }
    digits.parse::<u32>().ok().filter(|p| *p <= 65535).map(|p| p as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_hold_every_parameter_once() {
        for blk in [&MODULE_PARAMS, &INPUT_PARAMS] {
            let mut names: Vec<_> = blk.names().map(|n| n.to_ascii_lowercase()).collect();
            let n = names.len();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), n);
        }
        assert_eq!(MODULE_PARAMS.descriptors().len(), 40);
        assert_eq!(INPUT_PARAMS.descriptors().len(), 52);
        assert!(INPUT_PARAMS.descriptors()[0].is_required());
    }

    #[test]
    fn value_checks() {
        assert_eq!(max_frame_size(200_000_000), Ok(200_000_000));
        let e = max_frame_size(300_000_000).unwrap_err();
        assert_eq!(
            e.msg.as_deref(),
            Some("imtcp: invalid value for 'maxFrameSize' parameter given is 300000000, max is 200000000")
        );
        // (int) cast as in C: 2^32 + 5 is 5.
        assert_eq!(max_frame_size(4_294_967_301), Ok(5));
        assert_eq!(compression_mode("Stream:Always"), Ok(true));
        assert!(compression_mode("sometimes").is_err());
        assert_eq!(compression_driver("ZSTD"), Ok(true));
        assert!(compression_driver("lz4").is_err());
    }

    #[test]
    fn legacy_defaults_are_the_c_modules() {
        // imtcp.c resetConfigVariables
        let l = Legacy::default();
        assert_eq!(
            (l.max_sessions, l.max_listeners, l.addtl_delimiter, l.max_frame_size),
            (200, 20, -1, 200_000)
        );
        assert!(l.octet_counted && l.flow_control && l.preserve_case);
        assert!(!l.keepalive && !l.notify_close && !l.disable_lf);
        assert_eq!(l.driver_mode, 0);
        assert_eq!(l.input_name, None);
    }

    #[test]
    fn reset_keeps_the_bind_ruleset_and_peers() {
        let mut l = Legacy {
            bind_ruleset: Some("rs".into()),
            permitted_peers: vec!["p".into()],
            input_name: Some("n".into()),
            listen_port_file: Some("f".into()),
            max_sessions: 5,
            ..Legacy::default()
        };
        l.reset();
        assert_eq!(l.bind_ruleset.as_deref(), Some("rs"));
        assert_eq!(l.permitted_peers, ["p"]);
        assert_eq!((l.input_name, l.listen_port_file, l.max_sessions), (None, None, 200));
    }

    #[test]
    fn reset_forgets_the_bind_ruleset_where_the_host_does() {
        let mut l = Legacy {
            bind_ruleset: Some("rs".into()),
            permitted_peers: vec!["p".into()],
            reset_clears_bind_ruleset: true,
            ..Legacy::default()
        };
        l.reset();
        assert_eq!(l.bind_ruleset, None);
        assert_eq!(l.permitted_peers, ["p"]);
    }

    #[test]
    fn run_takes_legacy_values_over_the_module_settings() {
        let mut module = Settings {
            max_frame_size: 1000,
            worker_threads: 7,
            max_sessions: 9,
            ..Settings::default()
        };
        module.tls.auth_mode = Some("anon".into());
        let l = Legacy {
            bind_ruleset: Some("r1".into()),
            listen_port_file: Some("/tmp/p".into()),
            input_name: Some("legacy".into()),
            octet_counted: false,
            addtl_delimiter: 0,
            max_sessions: 3,
            ..Legacy::default()
        };
        let i = l.input(&module, Some("0".into()));
        assert_eq!(i.port, "0");
        assert_eq!(i.ruleset.as_deref(), Some("r1"));
        assert_eq!(i.listen_port_file.as_deref(), Some("/tmp/p"));
        assert_eq!(i.name, "legacy");
        assert!(i.octet_counted_set && !i.settings.octet_counted);
        assert_eq!(i.settings.addtl_delimiter, 0);
        assert_eq!(i.settings.max_sessions, 3);
        // not set by the legacy values: from the module (C: createInstance)
        assert_eq!(i.settings.max_frame_size, 1000);
        assert_eq!(i.settings.tls.auth_mode.as_deref(), Some("anon"));
        // fixed by addInstance
        assert_eq!((i.settings.worker_threads, i.settings.starvation_max_reads), (2, 500));
        let d = Legacy::default().input(&Settings::default(), None);
        assert_eq!((d.port.as_str(), d.name.as_str()), ("10514", "imtcp"));
        assert_eq!(d.ruleset, None);
    }

    #[test]
    fn module_takes_legacy_globals_and_inputs_inherit_framing() {
        let l = Legacy {
            octet_counted: false,
            max_sessions: 4,
            auth_mode: Some("x509/name".into()),
            permitted_peers: vec!["a".into()],
            ..Legacy::default()
        };
        let mut s = Settings::default();
        l.apply_to_module(&mut s);
        assert!(!s.octet_counted);
        assert_eq!(s.max_sessions, 4);
        let mut i = InputConfig::new("0".into(), Settings::default());
        complete_input(&mut i, &s);
        assert!(!i.settings.octet_counted, "unset on the input: the module's");
        assert_eq!(i.settings.max_sessions, 200, "copied when the input was parsed");
        assert_eq!(i.settings.tls.auth_mode.as_deref(), Some("x509/name"));
        assert_eq!(i.settings.tls.permitted_peers, ["a"]);
        let mut j = InputConfig::new("0".into(), Settings::default());
        j.octet_counted_set = true;
        complete_input(&mut j, &s);
        assert!(j.settings.octet_counted);
    }

    #[test]
    fn ports() {
        assert_eq!(parse_port("10514"), Some(10514));
        assert_eq!(parse_port("514abc"), Some(514));
        assert_eq!(parse_port("0"), Some(0));
        assert_eq!(parse_port("70000"), None);
        assert_eq!(parse_port("abc"), None);
    }

    #[test]
    fn tls_plan_follows_the_drivers() {
        use crate::tls::{AuthMode, Driver, Expired};
        use rsyslog_ffi::obj::NetstreamDefaults;
        let g = NetstreamDefaults {
            ca: Some("/g/ca.pem".into()),
            cert: Some("/g/cert.pem".into()),
            key: Some("/g/key.pem".into()),
            ..NetstreamDefaults::default()
        };
        let t = |f: &dyn Fn(&mut TlsSettings)| {
            let mut t = TlsSettings::default();
            f(&mut t);
            tls_plan(&t, &g, rsyslog_ffi::host::HostFamily::V2504)
        };
        // Plain: nothing to do.
        assert_eq!(t(&|_| {}), Ok(None));
        // ptcp refuses mode 1 and TLS settings.
        assert_eq!(
            t(&|x| x.mode = 1),
            Err((
                ret::INVALID_DRVR_MODE,
                "error: driver mode 1 not supported by ptcp netstream driver".into()
            ))
        );
        assert_eq!(t(&|x| x.auth_mode = Some("anon".into())), Ok(None));
        assert_eq!(
            t(&|x| x.auth_mode = Some("x509/name".into())),
            Err((
                ret::VALUE_NOT_SUPPORTED,
                "error: authentication mode 'x509/name' not supported by ptcp netstream driver".into()
            ))
        );
        assert_eq!(
            t(&|x| x.permitted_peers = vec!["a".into()]).unwrap_err().0,
            ret::VALUE_NOT_IN_THIS_MODE
        );
        // Unknown driver.
        assert_eq!(t(&|x| x.driver = Some("foo".into())).unwrap_err().0, ret::LOAD_ERROR);
        // gtls: defaults (x509/name, expired denied) and files from global().
        let p = t(&|x| {
            x.mode = 1;
            x.driver = Some("GTLS".into());
        })
        .unwrap()
        .unwrap();
        assert_eq!(p.driver, Driver::Gtls);
        assert_eq!(p.policy.auth, AuthMode::Name);
        assert_eq!(p.policy.expired, Expired::Deny);
        assert_eq!(p.files.ca.as_deref(), Some("/g/ca.pem"));
        // Own files win over global().
        let p = t(&|x| {
            x.mode = 1;
            x.driver = Some("ossl".into());
            x.ca_file = Some("/own/ca.pem".into());
        })
        .unwrap()
        .unwrap();
        assert_eq!(p.files.ca.as_deref(), Some("/own/ca.pem"));
        // Mode 2: gtls fails, ossl logs and serves TLS.
        assert_eq!(
            t(&|x| {
                x.mode = 2;
                x.driver = Some("gtls".into());
            })
            .unwrap_err()
            .0,
            ret::INVALID_DRVR_MODE
        );
        let p = t(&|x| {
            x.mode = 2;
            x.driver = Some("ossl".into());
        })
        .unwrap()
        .unwrap();
        assert_eq!(p.notes.len(), 1);
        // Bad strings.
        assert_eq!(
            t(&|x| {
                x.mode = 1;
                x.driver = Some("gtls".into());
                x.permit_expired = Some("maybe".into());
            }),
            Err((
                ret::VALUE_NOT_SUPPORTED,
                "error: permitexpiredcerts mode 'maybe' not supported by gtls netstream driver".into()
            ))
        );
        // Mode 0 through a TLS driver: checked, but plain.
        assert_eq!(
            t(&|x| {
                x.driver = Some("gtls".into());
                x.auth_mode = Some("x509/name".into());
            }),
            Ok(None)
        );
    }

    /// streamDriver.TlsRevocationCheck="on" asks for online (OCSP) checks,
    /// which no driver of ours makes: the listener is refused rather than
    /// started without them, on every host; "off" changes nothing.
    #[test]
    fn revocation_check_is_never_ignored() {
        use rsyslog_ffi::host::HostFamily;
        use rsyslog_ffi::obj::NetstreamDefaults;
        let g = NetstreamDefaults::default();
        for family in [HostFamily::V2302, HostFamily::V2504, HostFamily::Master] {
            let plan = |driver: &str, mode: i64, on: bool| {
                let t = TlsSettings {
                    driver: Some(driver.into()),
                    mode,
                    revocation_check: on,
                    auth_mode: Some("x509/certvalid".into()),
                    ..TlsSettings::default()
                };
                tls_plan(&t, &g, family)
            };
            // Current upstream's words for gtls, mbedtls and ptcp.
            assert_eq!(
                plan("gtls", 1, true),
                Err((
                    ret::VALUE_NOT_SUPPORTED,
                    "error: TLS revocation checking not supported by gtls netstream driver (GnuTLS does not implement OCSP checking)".into()
                )),
                "{family:?}"
            );
            assert_eq!(
                plan("mbedtls", 1, true).unwrap_err().1,
                "error: TLS revocation checking not supported by mbedtls netstream driver (mbedTLS does not implement OCSP checking)"
            );
            // gtls refuses it in mode 0 too (its setter runs for every listener).
            assert_eq!(plan("gtls", 0, true).unwrap_err().0, ret::VALUE_NOT_SUPPORTED);
            let ossl = plan("ossl", 1, true).unwrap_err();
            assert_eq!(ossl.0, ret::VALUE_NOT_SUPPORTED);
            assert!(ossl.1.contains("does not implement OCSP checking"), "{ossl:?}");
            // A plain listener through ossl has no peer certificate to check.
            assert_eq!(plan("ossl", 0, true), Ok(None));
            let ptcp = TlsSettings {
                revocation_check: true,
                ..TlsSettings::default()
            };
            assert_eq!(
                tls_plan(&ptcp, &g, family),
                Err((
                    ret::VALUE_NOT_SUPPORTED,
                    "error: TLS revocation checking not supported by ptcp netstream driver (plain TCP has no TLS)"
                        .into()
                ))
            );
            for d in ["gtls", "ossl", "mbedtls"] {
                let p = plan(d, 1, false).unwrap().unwrap();
                assert_eq!(p.policy.host, family);
            }
        }
    }
}
