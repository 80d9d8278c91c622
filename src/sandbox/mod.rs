//! The sandbox: a local, stateful imitation of Cin7 Core and the Shopify Admin API.
//! (Interface placeholder; the implementation lands from the sandbox branch.)

pub struct SandboxOptions {
    pub seed: u64,
    pub skus: usize,
    pub locations: usize,
    pub suppliers: usize,
    pub days: u32,
    pub orders_per_day: u32,
    pub mismatch_rate: f64,
    pub fault_rate: f64,
    pub cin7_rpm: u32,
    pub throttle_status: u16,
    pub retry_after_secs: u64,
    pub shopify_bucket: f64,
    pub shopify_restore_rate: f64,
    pub now: chrono::DateTime<chrono::Utc>,
    pub webhook_url: Option<String>,
    pub webhook_secret: Option<String>,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        todo!()
    }
}

pub struct SandboxHandle;

impl SandboxHandle {
    pub fn base_url(&self) -> String {
        todo!()
    }
    pub fn cin7_base_url(&self) -> String {
        todo!()
    }
    pub fn shopify_base_url(&self) -> String {
        todo!()
    }
    pub async fn shutdown(self) {
        todo!()
    }
}

pub async fn start(bind: &str, opts: SandboxOptions) -> anyhow::Result<SandboxHandle> {
    let _ = (bind, opts);
    todo!()
}

pub fn banner(handle: &SandboxHandle, opts: &SandboxOptions) -> String {
    let _ = (handle, opts);
    todo!()
}
