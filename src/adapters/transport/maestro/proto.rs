//! The CloudEvents gRPC service (`proto/cloudevent.proto`), generated at build time.

#![allow(clippy::all, missing_docs, unreachable_pub)]

tonic::include_proto!("io.cloudevents.v1");
