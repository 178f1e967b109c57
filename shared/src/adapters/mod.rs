//! Adapters: for each port a cloud implementation (AWS SDK) and an embedded one (local runner, default tests).

pub mod aws;
pub mod dynamodb_store;
pub mod embedded_queue;
mod folder_form_upload;
pub mod folder_object_store;
pub mod memory_secret_store;
pub mod post_policy;
pub mod s3_object_store;
pub mod secrets_manager_store;
pub mod sqlite_store;
pub mod sqs_queue;
