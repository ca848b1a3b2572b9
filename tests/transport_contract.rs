//! The transport contract suite against the in-memory transport, for both targets. The
//! Kubernetes and Maestro transports run the same suite against their fakes.

use hyperfleet_adapter::adapters::transport::{MemoryTransport, contract};
use hyperfleet_adapter::ports::{Target, Transport};
use std::sync::Arc;

fn fresh() -> Arc<dyn Transport> {
    Arc::new(MemoryTransport::default())
}

#[tokio::test]
async fn memory_transport_meets_the_contract_for_kubernetes() {
    let failures = contract::run_all(fresh, Target::Kubernetes).await;
    assert!(failures.is_empty(), "{failures:#?}");
}

#[tokio::test]
async fn memory_transport_meets_the_contract_for_maestro_consumers() {
    let failures = contract::run_all(
        fresh,
        Target::Maestro {
            consumer: "cluster1".into(),
        },
    )
    .await;
    assert!(failures.is_empty(), "{failures:#?}");
}

#[tokio::test]
async fn the_contract_catches_a_transport_that_never_skips() {
    // A transport that ignores the generation rule must fail the suite: the checks can fail.
    struct AlwaysUpdate(MemoryTransport);
    #[async_trait::async_trait]
    impl Transport for AlwaysUpdate {
        async fn apply(
            &self,
            m: &serde_json::Value,
            r: bool,
            t: &Target,
        ) -> Result<hyperfleet_adapter::ports::Applied, hyperfleet_adapter::ports::TransportError>
        {
            let mut a = self.0.apply(m, r, t).await?;
            if a.operation == hyperfleet_adapter::ports::Operation::Skip {
                a.operation = hyperfleet_adapter::ports::Operation::Update;
            }
            Ok(a)
        }
        async fn get(
            &self,
            g: &hyperfleet_adapter::ports::Gvk,
            n: &str,
            name: &str,
            t: &Target,
        ) -> Result<serde_json::Value, hyperfleet_adapter::ports::TransportError> {
            self.0.get(g, n, name, t).await
        }
        async fn discover(
            &self,
            g: &hyperfleet_adapter::ports::Gvk,
            s: &hyperfleet_adapter::ports::Selector,
            t: &Target,
        ) -> Result<Vec<serde_json::Value>, hyperfleet_adapter::ports::TransportError> {
            self.0.discover(g, s, t).await
        }
        async fn delete(
            &self,
            g: &hyperfleet_adapter::ports::Gvk,
            n: &str,
            name: &str,
            p: hyperfleet_adapter::ports::Propagation,
            t: &Target,
        ) -> Result<(), hyperfleet_adapter::ports::TransportError> {
            self.0.delete(g, n, name, p, t).await
        }
    }
    let failures = contract::run_all(
        || Arc::new(AlwaysUpdate(MemoryTransport::default())),
        Target::Kubernetes,
    )
    .await;
    assert_eq!(failures, ["generation_rule: same generation skips"]);
}
