//! The shared objects export what include/rsyslog_rs.h declares, and the
//! header compiles as C.

use rsyslog_tests::module_path;
use rsyslog_tests::modules::workspace_root;
use std::process::Command;

#[test]
fn each_module_exports_mod_init_and_the_header_compiles() {
    let header = workspace_root().join("include/rsyslog_rs.h");
    let text = std::fs::read_to_string(&header).unwrap();
    assert!(text.contains("int modInit("), "{text}");
    for m in ["impcap", "imtcp"] {
        let so = module_path(m);
        let out = Command::new("nm")
            .args(["-D", "--defined-only"])
            .arg(&so)
            .output()
            .expect("nm (binutils)");
        let syms = String::from_utf8_lossy(&out.stdout);
        assert!(syms.lines().any(|l| l.ends_with(" T modInit")), "{m}: {syms}");
        // rsyslogd resolves modInit only; no other function of ours may clash with its symbols.
        let funcs: Vec<&str> = syms
            .lines()
            .filter(|l| l.contains(" T ") && !l.ends_with(" _init") && !l.ends_with(" _fini"))
            .filter(|l| !l.contains("rust_eh_personality"))
            .collect();
        assert_eq!(funcs.len(), 1, "{m} exports more than modInit: {funcs:?}");
    }
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("t.c");
    std::fs::write(
        &c,
        format!(
            "#include \"{}\"\nint main(void) {{ int (*f)(int, int*, const void**, int (*)(const uint8_t*, const void**), void*) = modInit; return f == 0; }}\n",
            header.display()
        ),
    )
    .unwrap();
    let st = Command::new("cc")
        .args(["-Wall", "-Werror", "-c", "-o"])
        .arg(dir.path().join("t.o"))
        .arg(&c)
        .status()
        .expect("cc");
    assert!(st.success());
}
