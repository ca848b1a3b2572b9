//! Compiles `../../proto` (Maestro's CloudEvents service) into the fake Maestro's own gRPC server
//! and client stubs, with the same pure-Rust tooling as the adapter's build script (protox, no
//! `protoc`). The stubs are independent of the adapter's, so the fake checks the client's wire
//! format rather than sharing its types.

fn main() {
    println!("cargo:rerun-if-changed=../../proto");
    let descriptors = protox::compile(["../../proto/cloudevent.proto"], ["../../proto"])
        .unwrap_or_else(|e| panic!("../../proto/cloudevent.proto: {e}"));
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors)
        .unwrap_or_else(|e| panic!("generating the fake Maestro's gRPC code: {e}"));
}
