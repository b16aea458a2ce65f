//! The legacy `$InputTCP…` directives, as imtcp.c of rsyslog 8.2302 and
//! 8.2504 registers them in modInit (same names, kinds, chaining and
//! module-global flags). Values go to [`Legacy`]; `$InputTCPServerRun` creates
//! an input at that point of the config.

use crate::config::Legacy;
use crate::Conf;
use rsyslog_ffi::{LegacyDirective as D, LegacyKind as K, LegacyValue as V, RsResult};

fn set(conf: &mut Conf, f: impl FnOnce(&mut Legacy)) -> RsResult {
    f(&mut conf.legacy);
    Ok(())
}

/// Every directive of the C module, in its registration order.
pub static DIRECTIVES: [D<Conf>; 20] = [
    D::new(c"inputtcpserverrun", K::Word, |c, v| {
        let mut i = c.legacy.input(&c.settings, v.word());
        c.secure_defaults(Some(&mut i), crate::secure::Scope::Input)?;
        c.inputs.push(i);
        Ok(())
    }),
    D::new(c"inputtcpserverinputname", K::Word, |c, v| {
        set(c, |l| l.input_name = v.word())
    }),
    D::new(c"inputtcpserverbindruleset", K::Word, |c, v| {
        set(c, |l| l.bind_ruleset = v.word())
    }),
    // module-global: refused by rsyslog after a module(load="imtcp" ...) statement
    D::new(c"inputtcpserverstreamdriverpermittedpeer", K::Word, |c, v| {
        set(c, |l| l.permitted_peers.extend(v.word()))
    })
    .module_global(),
    D::new(c"inputtcpserverstreamdriverauthmode", K::Word, |c, v| {
        set(c, |l| l.auth_mode = v.word())
    })
    .module_global(),
    D::new(c"inputtcpserverkeepalive", K::Binary, |c, v| {
        set(c, |l| l.keepalive = v.bool())
    })
    .module_global(),
    D::new(c"inputtcpserverkeepalive_probes", K::Int, |c, v| {
        set(c, |l| l.keepalive_probes = v.int())
    })
    .module_global(),
    D::new(c"inputtcpserverkeepalive_intvl", K::Int, |c, v| {
        set(c, |l| l.keepalive_interval = v.int())
    })
    .module_global(),
    D::new(c"inputtcpserverkeepalive_time", K::Int, |c, v| {
        set(c, |l| l.keepalive_time = v.int())
    })
    .module_global(),
    D::new(c"inputtcpflowcontrol", K::Binary, |c, v| {
        set(c, |l| l.flow_control = v.bool())
    })
    .module_global(),
    D::new(c"inputtcpserverdisablelfdelimiter", K::Binary, |c, v| {
        set(c, |l| l.disable_lf = v.bool())
    })
    .module_global(),
    D::new(c"inputtcpserveraddtlframedelimiter", K::Int, |c, v| {
        set(c, |l| l.addtl_delimiter = v.int())
    })
    .module_global(),
    D::new(c"inputtcpserversupportoctetcountedframing", K::Binary, |c, v| {
        set(c, |l| l.octet_counted = v.bool())
    })
    .module_global(),
    D::new(c"inputtcpmaxsessions", K::Int, |c, v| {
        set(c, |l| l.max_sessions = v.int())
    })
    .module_global(),
    D::new(c"inputtcpmaxlisteners", K::Int, |c, v| {
        set(c, |l| l.max_listeners = v.int())
    })
    .module_global(),
    D::new(c"inputtcpservernotifyonconnectionclose", K::Binary, |c, v| {
        set(c, |l| l.notify_close = v.bool())
    })
    .module_global(),
    D::new(c"inputtcpserverstreamdrivermode", K::Int, |c, v| {
        set(c, |l| {
            l.driver_mode = v.int();
            l.driver_mode_set = true;
        })
    })
    .module_global(),
    D::new(c"inputtcpserverpreservecase", K::Binary, |c, v| {
        set(c, |l| l.preserve_case = v.bool())
    })
    .chaining()
    .module_global(),
    D::new(c"inputtcpserverlistenportfile", K::Word, |c, v| {
        set(c, |l| l.listen_port_file = v.word())
    })
    .chaining()
    .module_global(),
    D::new(c"resetconfigvariables", K::Custom, |c, _: V<'_>| set(c, Legacy::reset)).chaining(),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_the_c_modules() {
        // imtcp.c modInit (8.2302 and 8.2504): name, kind, chaining, module-global.
        let want: [(&str, K, bool, bool); 20] = [
            ("inputtcpserverrun", K::Word, false, false),
            ("inputtcpserverinputname", K::Word, false, false),
            ("inputtcpserverbindruleset", K::Word, false, false),
            ("inputtcpserverstreamdriverpermittedpeer", K::Word, false, true),
            ("inputtcpserverstreamdriverauthmode", K::Word, false, true),
            ("inputtcpserverkeepalive", K::Binary, false, true),
            ("inputtcpserverkeepalive_probes", K::Int, false, true),
            ("inputtcpserverkeepalive_intvl", K::Int, false, true),
            ("inputtcpserverkeepalive_time", K::Int, false, true),
            ("inputtcpflowcontrol", K::Binary, false, true),
            ("inputtcpserverdisablelfdelimiter", K::Binary, false, true),
            ("inputtcpserveraddtlframedelimiter", K::Int, false, true),
            ("inputtcpserversupportoctetcountedframing", K::Binary, false, true),
            ("inputtcpmaxsessions", K::Int, false, true),
            ("inputtcpmaxlisteners", K::Int, false, true),
            ("inputtcpservernotifyonconnectionclose", K::Binary, false, true),
            ("inputtcpserverstreamdrivermode", K::Int, false, true),
            ("inputtcpserverpreservecase", K::Binary, true, true),
            ("inputtcpserverlistenportfile", K::Word, true, true),
            ("resetconfigvariables", K::Custom, true, false),
        ];
        for (d, w) in DIRECTIVES.iter().zip(want) {
            assert_eq!((d.name_str(), d.kind, d.chaining, d.module_global), w);
        }
    }
}
