//! The blocking keyring-core calls, each run on a blocking thread by the store.

use std::sync::Arc;

use keyring_core::{CredentialStore, Entry};
use zeroize::Zeroizing;

use super::KeyringBackend;

/// A connected keyring-core store.
pub(crate) struct Client {
    pub(crate) store: Arc<CredentialStore>,
    pub(crate) backend: KeyringBackend,
}

type KResult<T> = keyring_core::Result<T>;

impl Client {
    /// Connects to the Secret Service on the session bus.
    pub(crate) fn secret_service() -> KResult<Client> {
        let store: Arc<CredentialStore> = zbus_secret_service_keyring_store::Store::new()?;
        // Connecting succeeds on any bus; ask the service once so that a bus without a Secret
        // Service is noticed here and not at the first read.
        store.search(&std::collections::HashMap::from([(
            "service",
            "creds-probe",
        )]))?;
        Ok(Client {
            store,
            backend: KeyringBackend::SecretService,
        })
    }

    /// Opens the Linux kernel keyring (keyutils).
    pub(crate) fn keyutils() -> KResult<Client> {
        let store: Arc<CredentialStore> = linux_keyutils_keyring_store::Store::new()?;
        Ok(Client {
            store,
            backend: KeyringBackend::Keyutils,
        })
    }

    fn entry(&self, service: &str, user: &str) -> KResult<Entry> {
        Entry::new_in_store(&self.store, service, user)
    }

    /// Reads a value. When several Secret Service items match (another client wrote one beside
    /// ours), the most recently created one wins.
    pub(crate) fn get(&self, service: &str, user: &str) -> KResult<Vec<u8>> {
        match self.entry(service, user)?.get_secret() {
            Err(keyring_core::Error::Ambiguous(entries)) => {
                let newest = entries
                    .into_iter()
                    .max_by_key(item_number)
                    .ok_or(keyring_core::Error::NoEntry)?;
                tracing::warn!(
                    target: "creds::local",
                    service, user,
                    "several keyring items match; the most recently created one is used"
                );
                newest.get_secret()
            }
            other => other,
        }
    }

    /// Writes a value (creating the item if needed; updating every matching item otherwise).
    pub(crate) fn set(&self, service: &str, user: &str, value: &Zeroizing<Vec<u8>>) -> KResult<()> {
        match self.entry(service, user)?.set_secret(value) {
            Err(keyring_core::Error::Ambiguous(entries)) => {
                entries.iter().try_for_each(|e| e.set_secret(value))
            }
            other => other,
        }
    }

    /// Deletes the value (every matching item).
    pub(crate) fn delete(&self, service: &str, user: &str) -> KResult<()> {
        match self.entry(service, user)?.delete_credential() {
            Err(keyring_core::Error::Ambiguous(entries)) => {
                entries.iter().try_for_each(|e| e.delete_credential())
            }
            other => other,
        }
    }
}

/// The number at the end of a Secret Service item path (`…/collection/login/17`): items are
/// numbered as they are created.
fn item_number(entry: &Entry) -> u64 {
    entry
        .as_any()
        .downcast_ref::<zbus_secret_service_keyring_store::cred::Wrapper>()
        .and_then(|w| w.get_path().rsplit('/').next().and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}
