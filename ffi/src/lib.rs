//! The rsyslog module ABI and a small safe layer shared by `impcap` and `imtcp`.
//!
//! * [`abi`]: raw C layouts and constants (rsyslog 8.2302, 8.2504, upstream).
//! * [`host`]: rsyslogd's exported functions, resolved at load time (`dlsym`).
//! * [`obj`]: object interfaces with version negotiation (glbl 10/11, statsobj 13/16).
//! * [`module`]: the [`module::InputModule`] trait and every guarded entry point.
//! * [`config`]: static parameter blocks and typed access to values.
//! * [`compat`]: current upstream's `compatibility.defaults.secure` policy.
//! * [`legacy`]: legacy `$Directive` lines (cfsysline handlers).
//! * [`msg`], [`json`], [`stats`], [`log`]: messages, JSON trees, counters, logging.
//!
//! `unsafe` lives only in this crate; each block carries its reason.

pub mod abi;
pub mod compat;
pub mod config;
pub mod host;
pub mod json;
pub mod legacy;
pub mod log;
pub mod module;
pub mod msg;
pub mod obj;
pub mod stats;
pub mod sys;

pub use abi::{ret, EntryPoint, HostQueryEtryPt, RsRetVal, SyslogTime};
pub use config::{ParamBlock, ParamType, Params, Value};
pub use json::{FjsonBuilder, JsonObj, JsonSink, TextJson};
pub use legacy::{LegacyDirective, LegacyKind, LegacyValue};
pub use log::{guard, log_error, log_msg, parser_errmsg, parser_warnmsg, RsError, RsResult};
pub use module::{mod_init, HasGlobals, InputModule, InputThread};
pub use msg::{Batch, ConfPtr, FlowControl, Msg, Prop, Ratelimit, Ruleset};
pub use stats::StatsObj;
