//! Compiles `proto/` into the Maestro transport's gRPC client and server stubs (the server side
//! backs the fake Maestro in the tests). Pure Rust (protox): no `protoc` needed.

fn main() {
    println!("cargo:rerun-if-changed=proto");
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
