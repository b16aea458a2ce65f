//! imtcp: rsyslog's syslog-over-TCP input module, in Rust.
//!
//! Same configuration as the C module (every module and input parameter of
//! rsyslog 8.2302, 8.2504 and current upstream, see [`config`], and the legacy
//! `$InputTCP…` directives, see [`legacy`]); framing in
//! [`framing`] (pure Rust); sockets and sessions in [`server`].

pub mod acl;
pub mod config;
pub mod decompress;
pub mod framing;
pub mod legacy;
pub mod secure;
pub mod server;
pub mod texts;
pub mod tls;

use config::{InputConfig, Legacy, Settings};
use rsyslog_ffi::module::InputThread;
use rsyslog_ffi::{
    declare_input_module, log_error, ret, ConfPtr, InputModule, LegacyDirective, ParamBlock, Params, RsError, RsResult,
    Ruleset,
};
use std::ffi::{c_int, CStr};
use std::sync::{Arc, Mutex};

/// The per-configuration object.
pub struct Conf {
    conf: ConfPtr,
    pub settings: Settings,
    pub inputs: Vec<InputConfig>,
    /// The legacy `$InputTCP…` values while this config is loaded.
    pub legacy: Legacy,
    /// Was the module configured by a `module()` statement? (C: configSetViaV2Method)
    pub module_statement: bool,
    rulesets: Vec<Option<Ruleset>>,
    /// Listeners opened in activateCnfPrePrivDrop, taken by the input thread.
    listeners: Mutex<Vec<server::Listener>>,
}

impl Conf {
    /// Current upstream's `compatibility.defaults.secure` for the module
    /// settings (`input` None) or one input (see [`secure`]): may turn TLS on
    /// or refuse the settings; the warnings go to the host, which logs them
    /// in `warn` mode. Nothing happens on hosts without the setting.
    pub fn secure_defaults(&mut self, input: Option<&mut InputConfig>, scope: secure::Scope) -> RsResult {
        if !rsyslog_ffi::compat::available() {
            return Ok(());
        }
        let policy = rsyslog_ffi::compat::secure_defaults(self.conf);
        let global = rsyslog_ffi::obj::interfaces().and_then(|i| i.netstream_defaults(&self.conf).driver);
        let settings = match input {
            Some(i) => &mut i.settings,
            None => &mut self.settings,
        };
        for w in secure::apply(policy, settings, global.as_deref(), scope)? {
            rsyslog_ffi::compat::warn_if_insecure_default(self.conf, w);
        }
        Ok(())
    }
}

pub struct Imtcp;
declare_input_module!(Imtcp);

impl InputModule for Imtcp {
    const NAME: &'static CStr = c"imtcp";
    type Conf = Conf;

    fn module_params() -> &'static ParamBlock {
        &config::MODULE_PARAMS
    }
    fn input_params() -> &'static ParamBlock {
        &config::INPUT_PARAMS
    }

    fn new_conf(conf: ConfPtr) -> Conf {
        Conf {
            conf,
            settings: Settings::default(),
            inputs: Vec::new(),
            legacy: Legacy {
                reset_clears_bind_ruleset: texts::Wording::of_host().reset_clears_bind_ruleset(),
                ..Legacy::default()
            },
            module_statement: false,
            rulesets: Vec::new(),
            listeners: Mutex::new(Vec::new()),
        }
    }

    fn set_mod_cnf(conf: &mut Conf, p: &Params) -> RsResult {
        config::apply_module(&mut conf.settings, p)?;
        conf.module_statement = true;
        conf.secure_defaults(None, secure::Scope::Module)
    }

    fn new_input(conf: &mut Conf, p: &Params) -> RsResult {
        let mut i = config::parse_input(&conf.settings, p)?;
        conf.secure_defaults(Some(&mut i), secure::Scope::Input)?;
        conf.inputs.push(i);
        Ok(())
    }

    fn legacy_directives() -> &'static [LegacyDirective<Conf>] {
        &legacy::DIRECTIVES
    }

    fn end_cnf_load(conf: &mut Conf) {
        if !conf.module_statement {
            conf.legacy.apply_to_module(&mut conf.settings);
            // rsyslog ignores what endCnfLoad returns: an error is only logged.
            if let Err(e) = conf.secure_defaults(None, secure::Scope::Module) {
                e.report();
            }
        }
    }

    fn check_cnf(conf: &mut Conf) -> RsResult {
        for i in &mut conf.inputs {
            config::complete_input(i, &conf.settings);
        }
        if conf.inputs.is_empty() {
            return Err(RsError::new(
                ret::NO_LISTNERS,
                "imtcp: module loaded, but no listeners defined - no input will be gathered",
            ));
        }
        conf.rulesets = conf
            .inputs
            .iter()
            .map(|i| Ruleset::bind(conf.conf, "imtcp", i.ruleset.as_deref(), &format!("port {}", i.port)))
            .collect();
        Ok(())
    }

    fn activate_pre_priv_drop(conf: &mut Conf) -> RsResult {
        let mut inputs = Vec::new();
        for (idx, cfg) in conf.inputs.iter().enumerate() {
            if let (Some(rl), false) = (&cfg.ratelimit_name, rsyslog_ffi::Ratelimit::named_supported()) {
                log_error(
                    0,
                    ret::INVALID_PARAMS,
                    &format!(
                        "imtcp: input '{}' port {}: ratelimit.name '{rl}' needs ratelimit() objects, which this \
                         rsyslogd does not have - listener not started",
                        cfg.name, cfg.port
                    ),
                );
                continue;
            }
            let acl = match server::build_acl(cfg) {
                Ok(a) => a,
                Err(e) => {
                    log_error(
                        0,
                        ret::INVALID_PARAMS,
                        &format!(
                            "imtcp: input '{}' port {}: {e} - listener not started",
                            cfg.name, cfg.port
                        ),
                    );
                    continue;
                }
            };
            let input = match server::Input::new(cfg.clone(), conf.rulesets.get(idx).copied().flatten(), acl, conf.conf)
            {
                Ok(i) => Arc::new(i),
                // This input is not started; the others are.
                Err(e) => {
                    e.report();
                    continue;
                }
            };
            // A port that could not be opened has been reported; the others run.
            inputs.push(input);
        }
        // imtcp.c keeps its servers in a list it prepends to, so the C module
        // opens the listeners (and writes listenPortFileName) from the last
        // input() to the first: with two inputs naming the same port file the
        // first one's port is what the file ends up holding.
        let mut opened: Vec<Vec<server::Listener>> = inputs.iter().rev().map(server::open_listeners).collect();
        opened.reverse();
        let all: Vec<server::Listener> = opened.into_iter().flatten().collect();
        *conf.listeners.lock().unwrap_or_else(|e| e.into_inner()) = all;
        Ok(())
    }

    fn activate(_conf: &mut Conf) -> RsResult {
        Ok(())
    }

    fn will_run(conf: &Conf) -> RsResult {
        if conf.listeners.lock().unwrap_or_else(|e| e.into_inner()).is_empty() {
            return Err(RsError::code(ret::NO_RUN));
        }
        Ok(())
    }

    fn run(conf: &Conf, thread: &InputThread) -> RsResult {
        let listeners = std::mem::take(&mut *conf.listeners.lock().unwrap_or_else(|e| e.into_inner()));
        server::run(listeners, thread)
    }
}

/// The module's only exported symbol; rsyslogd calls it right after dlopen.
#[no_mangle]
pub extern "C" fn modInit(
    if_version_requested: c_int,
    if_version_provided: *mut c_int,
    query_entry_point: *mut *const std::ffi::c_void,
    host_query_entry_point: Option<unsafe extern "C" fn(*const u8, *mut *const std::ffi::c_void) -> c_int>,
    mod_info: *mut std::ffi::c_void,
) -> c_int {
    rsyslog_ffi::mod_init::<Imtcp>(
        if_version_requested,
        if_version_provided,
        query_entry_point,
        host_query_entry_point,
        mod_info,
    )
}
