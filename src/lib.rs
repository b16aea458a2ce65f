//! Workspace root: see README.md. The real code lives in ffi/, impcap/, imtcp/.
