//! Compiles `proto/` into the Maestro transport's gRPC client and server stubs (the server side
//! backs the fake Maestro in the tests). Pure Rust (protox): no `protoc` needed. Sets
//! `cfg(conformance)` when `../shared/conformance` exists.

fn main() {
    println!("cargo:rerun-if-changed=proto");
    // Tests that read `../shared/conformance` are marked ignored (with the reason) when it is
    // not beside the checkout, so a run without it says so in its result.
    println!("cargo:rustc-check-cfg=cfg(conformance)");
    println!("cargo:rerun-if-changed=../shared/conformance");
    if std::path::Path::new("../shared/conformance").is_dir() {
        println!("cargo:rustc-cfg=conformance");
    }
    #[cfg(feature = "maestro")]
    {
        let descriptors = protox::compile(["proto/cloudevent.proto"], ["proto"])
            .unwrap_or_else(|e| panic!("proto/cloudevent.proto: {e}"));
        tonic_prost_build::configure()
            .build_client(true)
            .build_server(true)
            .compile_fds(descriptors)
            .unwrap_or_else(|e| panic!("generating the Maestro gRPC code: {e}"));
    }
}
