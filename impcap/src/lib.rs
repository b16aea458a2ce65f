//! impcap: rsyslog's packet-capture input module, in Rust.
//!
//! Same configuration as the C module (rsyslog 8.2504 `contrib/impcap`): the
//! module parameters `snap_length`, `metadata_only`, `metadata_container`,
//! `data_container` and the input parameters `interface`, `file`,
//! `promiscuous`, `filter`, `tag`, `ruleset`, `no_buffer`, `buffer_size`,
//! `buffer_timeout`, `packet_count`. One message per packet carries the
//! metadata in `!impcap` and the undecoded payload in `!data`, as the C
//! module of the host writes them: 8.2504's on 8.2302 and 8.2504, current
//! upstream's on current upstream (see [`decode::Dialect`]).

pub mod capture;
pub mod decode;
pub mod time;

use decode::Dialect;
use rsyslog_ffi::host::HostFamily;
use rsyslog_ffi::module::InputThread;
use rsyslog_ffi::{
    declare_input_module, param_block, ret, ConfPtr, InputModule, ParamBlock, Params, Prop, RsError, RsResult, Ruleset,
};
use std::ffi::{c_int, CStr, CString};
use std::sync::Mutex;

param_block!(pub MODULE_PARAMS = [
    "snap_length": PositiveInt,
    "metadata_only": Binary,
    "metadata_container": GetWord,
    "data_container": GetWord,
]);

param_block!(pub INPUT_PARAMS = [
    "interface": GetWord,
    "file": String,
    "promiscuous": Binary,
    "filter": String,
    "tag": String,
    "ruleset": String,
    "no_buffer": Binary,
    "buffer_size": PositiveInt,
    "buffer_timeout": PositiveInt,
    "packet_count": PositiveInt,
]);

/// One `input(type="impcap")`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub interface: Option<String>,
    pub file: Option<String>,
    pub promiscuous: bool,
    pub filter: Option<String>,
    pub tag: Option<String>,
    pub ruleset_name: Option<String>,
    pub no_buffer: bool,
    pub buffer_size: u32,
    pub buffer_timeout: u8,
    pub packet_count: u8,
}

impl Default for Instance {
    fn default() -> Self {
        Instance {
            interface: None,
            file: None,
            promiscuous: false,
            filter: None,
            tag: None,
            ruleset_name: None,
            no_buffer: false,
            buffer_size: 15_728_640,
            buffer_timeout: 10,
            packet_count: 5,
        }
    }
}

/// Module-wide settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub snap_length: u16,
    pub metadata_only: bool,
    pub metadata_container: CString,
    pub data_container: CString,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            snap_length: 65535,
            metadata_only: false,
            metadata_container: c"!impcap".to_owned(),
            data_container: c"!data".to_owned(),
        }
    }
}

/// The per-configuration object.
pub struct Conf {
    conf: ConfPtr,
    pub settings: Settings,
    pub instances: Vec<Instance>,
    /// Resolved rulesets, one per instance (checkCnf).
    rulesets: Vec<Option<Ruleset>>,
    /// Opened captures, taken by the input thread (activateCnf → runInput).
    opened: Mutex<Vec<capture::Source>>,
    input_name: Mutex<Option<Prop>>,
}

pub struct Impcap;
declare_input_module!(Impcap);

/// The C impcap whose output a host's users know: current upstream's on
/// current upstream, 8.2504's on 8.2302 and 8.2504.
pub fn dialect_for(family: HostFamily) -> Dialect {
    match family {
        HostFamily::V2302 | HostFamily::V2504 => Dialect::V2504,
        HostFamily::Master => Dialect::Master,
    }
}

/// The dialect of the host the module was loaded into (8.2504's when not
/// loaded by rsyslogd).
fn host_dialect() -> Dialect {
    rsyslog_ffi::module::host_info().map_or(Dialect::V2504, |h| dialect_for(h.family))
}

/// Converts a PositiveInt as the C module stores it (a narrowing cast).
fn narrow<T: TryFrom<i64> + Default>(v: i64, mask: i64) -> T {
    T::try_from(v & mask).unwrap_or_default()
}

impl InputModule for Impcap {
    const NAME: &'static CStr = c"impcap";
    const MODULE_PARAMS_ERROR: &'static str = "error processing module config parameters missing [module(...)]";
    type Conf = Conf;

    fn module_params() -> &'static ParamBlock {
        &MODULE_PARAMS
    }
    fn input_params() -> &'static ParamBlock {
        &INPUT_PARAMS
    }

    fn new_conf(conf: ConfPtr) -> Conf {
        Conf {
            conf,
            settings: Settings::default(),
            instances: Vec::new(),
            rulesets: Vec::new(),
            opened: Mutex::new(Vec::new()),
            input_name: Mutex::new(None),
        }
    }

    fn set_mod_cnf(conf: &mut Conf, p: &Params) -> RsResult {
        let s = &mut conf.settings;
        if let Some(v) = p.num("snap_length") {
            s.snap_length = narrow(v, 0xffff);
        }
        if let Some(v) = p.bool("metadata_only") {
            s.metadata_only = v;
        }
        let cstr = |v: Vec<u8>| {
            CString::new(v).map_err(|_| RsError::new(ret::PARAM_ERROR, "impcap: container name contains NUL"))
        };
        if let Some(v) = p.bytes("metadata_container") {
            s.metadata_container = cstr(v)?;
        }
        if let Some(v) = p.bytes("data_container") {
            s.data_container = cstr(v)?;
        }
        Ok(())
    }

    fn new_input(conf: &mut Conf, p: &Params) -> RsResult {
        let mut i = Instance {
            interface: p.string("interface"),
            file: p.string("file"),
            filter: p.string("filter"),
            tag: p.string("tag"),
            ruleset_name: p.string("ruleset"),
            ..Instance::default()
        };
        if let Some(v) = p.bool("promiscuous") {
            i.promiscuous = v;
        }
        if let Some(v) = p.bool("no_buffer") {
            i.no_buffer = v;
        }
        if let Some(v) = p.num("buffer_size") {
            i.buffer_size = narrow(v, 0xffff_ffff);
        }
        if let Some(v) = p.num("buffer_timeout") {
            i.buffer_timeout = narrow(v, 0xff);
        }
        if let Some(v) = p.num("packet_count") {
            i.packet_count = narrow(v, 0xff);
        }
        conf.instances.push(i);
        Ok(())
    }

    fn check_cnf(conf: &mut Conf) -> RsResult {
        if conf.instances.is_empty() {
            return Err(RsError::new(
                ret::NO_LISTNERS,
                "impcap: module loaded, but no interface defined - no input will be gathered",
            ));
        }
        if conf.settings.metadata_only {
            conf.settings.snap_length = 100;
        }
        let mut bad = false;
        for i in &conf.instances {
            match (&i.interface, &i.file) {
                (None, None) => {
                    rsyslog_ffi::log_error(0, ret::LOAD_ERROR, "impcap: 'interface' or 'file' must be specified");
                    bad = true;
                }
                (Some(_), Some(_)) => {
                    rsyslog_ffi::log_error(
                        0,
                        ret::LOAD_ERROR,
                        "impcap: either 'interface' or 'file' must be specified",
                    );
                    bad = true;
                }
                _ => {}
            }
        }
        if bad {
            return Err(RsError::code(ret::INVALID_PARAMS));
        }
        conf.rulesets = conf
            .instances
            .iter()
            .map(|i| {
                let what = format!("interface {}", i.interface.as_deref().unwrap_or("(null)"));
                Ruleset::bind(conf.conf, "impcap", i.ruleset_name.as_deref(), &what)
            })
            .collect();
        Ok(())
    }

    fn activate(conf: &mut Conf) -> RsResult {
        let mut opened = Vec::with_capacity(conf.instances.len());
        for (idx, i) in conf.instances.iter().enumerate() {
            let src = capture::open(i, &conf.settings).map_err(|msg| RsError::new(ret::LOAD_ERROR, msg))?;
            let ruleset = conf.rulesets.get(idx).copied().flatten();
            opened.push(capture::Source::new(src, ruleset, i.tag.clone(), host_dialect()));
        }
        *conf.opened.lock().unwrap_or_else(|e| e.into_inner()) = opened;
        Ok(())
    }

    fn will_run(conf: &Conf) -> RsResult {
        let p = Prop::new(b"impcap")?;
        *conf.input_name.lock().unwrap_or_else(|e| e.into_inner()) = Some(p);
        Ok(())
    }

    fn run(conf: &Conf, thread: &InputThread) -> RsResult {
        let sources = std::mem::take(&mut *conf.opened.lock().unwrap_or_else(|e| e.into_inner()));
        let input_name = conf
            .input_name
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| RsError::code(ret::NO_RUN))?;
        let settings = &conf.settings;
        std::thread::scope(|s| {
            let handles: Vec<_> = sources
                .into_iter()
                .map(|src| {
                    let name = input_name.clone();
                    std::thread::Builder::new()
                        .name("impcap".into())
                        .spawn_scoped(s, move || {
                            // A panic ends this capture only, with a log line.
                            rsyslog_ffi::log::guard_or("impcap", "capture thread", Ok(()), || {
                                capture::run_source(src, settings, &name, thread)
                            })
                        })
                })
                .collect();
            let mut result = Ok(());
            for h in handles {
                match h {
                    Ok(h) => match h.join() {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => result = Err(e),
                        Err(_) => {
                            rsyslog_ffi::log_error(0, ret::INTERNAL_ERROR, "impcap: capture thread ended abnormally")
                        }
                    },
                    Err(_) => {
                        rsyslog_ffi::log_error(0, ret::NO_RUN, "impcap: error while creating threads");
                        result = Err(RsError::code(ret::NO_RUN));
                    }
                }
            }
            result
        })
    }

    fn after_run(conf: &Conf) {
        conf.input_name.lock().unwrap_or_else(|e| e.into_inner()).take();
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
    rsyslog_ffi::mod_init::<Impcap>(
        if_version_requested,
        if_version_provided,
        query_entry_point,
        host_query_entry_point,
        mod_info,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declares_every_parameter_of_the_c_module() {
        assert_eq!(
            MODULE_PARAMS.names().collect::<Vec<_>>(),
            ["snap_length", "metadata_only", "metadata_container", "data_container"]
        );
        assert_eq!(
            INPUT_PARAMS.names().collect::<Vec<_>>(),
            [
                "interface",
                "file",
                "promiscuous",
                "filter",
                "tag",
                "ruleset",
                "no_buffer",
                "buffer_size",
                "buffer_timeout",
                "packet_count"
            ]
        );
    }

    #[test]
    fn dialect_follows_the_host() {
        assert_eq!(dialect_for(HostFamily::V2302), Dialect::V2504);
        assert_eq!(dialect_for(HostFamily::V2504), Dialect::V2504);
        assert_eq!(dialect_for(HostFamily::Master), Dialect::Master);
        // Not loaded by rsyslogd (a unit test): 8.2504's.
        assert_eq!(host_dialect(), Dialect::V2504);
    }

    #[test]
    fn narrowing_matches_c_casts() {
        assert_eq!(narrow::<u8>(300, 0xff), 44);
        assert_eq!(narrow::<u16>(65535, 0xffff), 65535);
        assert_eq!(narrow::<u16>(70000, 0xffff), 4464);
    }
}
