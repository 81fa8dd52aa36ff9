//! The document vault: file bytes encrypted at rest in an object store.
//!
//! Each file gets its own random 256-bit key and is sealed with AES-256-GCM; that file key is in
//! turn sealed ("wrapped") with the configured master key and kept in the database beside the
//! document's metadata, never in the object store. So the object store alone reveals nothing, and
//! rotating the master key means re-wrapping small file keys, not re-encrypting files.
//!
//! Stored object: `CLD1` ‖ nonce (12 bytes) ‖ ciphertext ‖ tag (16 bytes), with the object's key
//! as associated data, so an object moved or copied under another document does not open. The
//! SHA-256 of the plaintext is kept with the metadata and checked on every read as well.

use crate::ids::DocumentId;

use std::fmt;
use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, aead};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use sha2::{Digest, Sha256};

use crate::documents::record::SealedFile;
use crate::error::{Error, ErrorCode, Result};
use crate::ids::TenantId;
use crate::time::Timestamp;

/// The format tag at the start of every stored object.
const MAGIC: &[u8; 4] = b"CLD1";
const NONCE_LEN: usize = 12;

/// A master key with its id: the first 8 bytes of its SHA-256, hex. The id is stored with each
/// wrapped file key, so the vault knows which key opens it and which need re-wrapping.
#[derive(Clone)]
pub struct MasterKey {
    id: String,
    cipher: Aes256Gcm,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey").field("id", &self.id).finish_non_exhaustive()
    }
}

impl MasterKey {
    /// A master key from exactly 32 bytes.
    pub fn new(key: &[u8]) -> Result<Self> {
        let cipher = Aes256Gcm::new_from_slice(key)
            .map_err(|_| Error::internal("a documents master key must be exactly 32 bytes"))?;
        let id = hex::encode(&Sha256::digest(key)[..8]);
        Ok(Self { id, cipher })
    }

    /// The key's id.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// What sealing a file produced.
#[derive(Debug, Clone)]
pub struct Sealed {
    /// Where and under which keys the file is kept.
    pub file: SealedFile,
    /// SHA-256 of the plaintext, hex.
    pub sha256: String,
}

/// Encrypted file storage over any [`ObjectStore`] (a local directory, S3, memory in tests).
#[derive(Clone)]
pub struct Vault {
    objects: Arc<dyn ObjectStore>,
    current: MasterKey,
    previous: Vec<MasterKey>,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault")
            .field("objects", &self.objects.to_string())
            .field("current_key", &self.current.id)
            .field("previous_keys", &self.previous.iter().map(|k| &k.id).collect::<Vec<_>>())
            .finish()
    }
}

impl Vault {
    /// A vault sealing with `current` and still opening files wrapped by `previous` keys.
    pub fn new(objects: Arc<dyn ObjectStore>, current: MasterKey, previous: Vec<MasterKey>) -> Self {
        Self { objects, current, previous }
    }

    /// The id of the key new files are wrapped with.
    pub fn current_key_id(&self) -> &str {
        &self.current.id
    }

    fn key(&self, id: &str) -> Result<&MasterKey> {
        std::iter::once(&self.current).chain(&self.previous).find(|k| k.id == id).ok_or_else(|| {
            Error::server(
                ErrorCode::DocumentUnreadable,
                format!("the master key {id} that wrapped this file is not configured"),
            )
        })
    }

    /// Encrypts `plaintext` under a new file key and stores it as document `document` of `tenant`.
    pub async fn seal(&self, tenant: TenantId, document: DocumentId, plaintext: &[u8]) -> Result<Sealed> {
        let object_key = format!("tenants/{tenant}/documents/{document}");
        let file_key: [u8; 32] = random()?;
        let cipher = Aes256Gcm::new_from_slice(&file_key).map_err(|_| Error::internal("file key length"))?;
        let nonce: [u8; NONCE_LEN] = random()?;
        let ciphertext = cipher
            .encrypt(&nonce.into(), Payload { msg: plaintext, aad: object_key.as_bytes() })
            .map_err(|_| Error::internal("encrypting a document failed"))?;
        let mut object = Vec::with_capacity(MAGIC.len() + NONCE_LEN + ciphertext.len());
        object.extend_from_slice(MAGIC);
        object.extend_from_slice(&nonce);
        object.extend_from_slice(&ciphertext);
        let wrapped_key = wrap(&self.current, tenant, document, &file_key)?;
        self.objects
            .put(&Path::from(object_key.as_str()), PutPayload::from(object))
            .await
            .map_err(|e| unwritable(&object_key, &e))?;
        Ok(Sealed {
            file: SealedFile { object_key, key_id: self.current.id.clone(), wrapped_key },
            sha256: hex::encode(Sha256::digest(plaintext)),
        })
    }

    /// Reads, decrypts and checks document `document`'s file. A missing object, a wrong key, a
    /// flipped byte or a checksum mismatch is a `document_unreadable` error, never bytes.
    pub async fn open(
        &self,
        tenant: TenantId,
        document: DocumentId,
        sealed: &SealedFile,
        sha256: &str,
    ) -> Result<Vec<u8>> {
        let unreadable = |why: String| Error::server(ErrorCode::DocumentUnreadable, why);
        let path = Path::from(sealed.object_key.as_str());
        let object = match self.objects.get(&path).await {
            Ok(got) => got.bytes().await,
            Err(e) => Err(e),
        }
        .map_err(|e| match e {
            object_store::Error::NotFound { .. } => unreadable("the document's file is missing from storage".into()),
            other => Error::internal(format!("object store: reading {}: {other}", sealed.object_key)),
        })?;
        let tampered = || unreadable("the document's file failed its integrity check (altered or corrupt)".into());
        let body = object.strip_prefix(MAGIC.as_slice()).ok_or_else(tampered)?;
        if body.len() < NONCE_LEN {
            return Err(tampered());
        }
        let (nonce, ciphertext) = body.split_at(NONCE_LEN);
        let file_key =
            unwrap(self.key(&sealed.key_id)?, tenant, document, &sealed.wrapped_key).map_err(|_| tampered())?;
        let cipher = Aes256Gcm::new_from_slice(&file_key).map_err(|_| tampered())?;
        let nonce = aead::Nonce::<Aes256Gcm>::try_from(nonce).map_err(|_| tampered())?;
        let plaintext = cipher
            .decrypt(&nonce, Payload { msg: ciphertext, aad: sealed.object_key.as_bytes() })
            .map_err(|_| tampered())?;
        if hex::encode(Sha256::digest(&plaintext)) != sha256 {
            return Err(tampered());
        }
        Ok(plaintext)
    }

    /// The file key of `sealed` wrapped with the current master key, or `None` when it already is.
    pub fn rewrap(&self, tenant: TenantId, document: DocumentId, sealed: &SealedFile) -> Result<Option<SealedFile>> {
        if sealed.key_id == self.current.id {
            return Ok(None);
        }
        let file_key = unwrap(self.key(&sealed.key_id)?, tenant, document, &sealed.wrapped_key)?;
        let wrapped_key = wrap(&self.current, tenant, document, &file_key)?;
        Ok(Some(SealedFile { key_id: self.current.id.clone(), wrapped_key, ..sealed.clone() }))
    }

    /// Checks the object store works, for readiness: writes a tiny probe object of its own
    /// name (under `readyz/`, apart from every document), reads it back and deletes it. A
    /// store that is unreachable, refuses writes, or has lost its directory fails here
    /// before an upload does.
    pub async fn probe(&self) -> Result<()> {
        let path = Path::from(format!("readyz/{}", uuid::Uuid::new_v4().simple()));
        let failed = |step: &str, e: object_store::Error| Error::internal(format!("object store: {step} a probe: {e}"));
        self.objects.put(&path, PutPayload::from_static(b"ok")).await.map_err(|e| failed("writing", e))?;
        let read = match self.objects.get(&path).await {
            Ok(object) => object.bytes().await.map_err(|e| failed("reading", e)),
            Err(e) => Err(failed("reading", e)),
        };
        let deleted = self.objects.delete(&path).await.map_err(|e| failed("deleting", e));
        match read? {
            bytes if bytes.as_ref() == b"ok" => deleted,
            _ => Err(Error::internal("object store: a probe read back differently")),
        }
    }

    /// The tenants with a folder of objects in the store (`tenants/{tenant}/`).
    pub async fn tenants_with_objects(&self) -> Result<Vec<TenantId>> {
        let listed = self
            .objects
            .list_with_delimiter(Some(&Path::from("tenants")))
            .await
            .map_err(|e| Error::internal(format!("object store: listing tenants: {e}")))?;
        Ok(listed.common_prefixes.iter().filter_map(|p| tenant_of_prefix(p.as_ref())).collect())
    }

    /// Every document object of `tenant`, with when it was last written.
    pub async fn tenant_objects(&self, tenant: TenantId) -> Result<Vec<StoredObject>> {
        let prefix = format!("tenants/{tenant}/documents");
        let listed = self
            .objects
            .list_with_delimiter(Some(&Path::from(prefix.as_str())))
            .await
            .map_err(|e| Error::internal(format!("object store: listing {prefix}: {e}")))?;
        Ok(listed
            .objects
            .into_iter()
            .map(|meta| StoredObject {
                key: meta.location.to_string(),
                // An instant out of range is taken as now: young, so kept.
                modified: Timestamp::from_unix_seconds(meta.last_modified.timestamp()).unwrap_or_else(Timestamp::now),
            })
            .collect())
    }

    /// Removes the object at `key`; a missing one is not an error.
    pub async fn remove_object(&self, key: &str) -> Result<()> {
        match self.objects.delete(&Path::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(Error::internal(format!("object store: deleting {key}: {e}"))),
        }
    }

    /// Removes a stored object (after a failed write); a missing one is not an error.
    pub async fn remove(&self, sealed: &SealedFile) -> Result<()> {
        match self.objects.delete(&Path::from(sealed.object_key.as_str())).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(Error::internal(format!("object store: deleting {}: {e}", sealed.object_key))),
        }
    }
}

/// How old a file no document points at must be before the sweep removes it, unless configured
/// (see [`crate::documents::sweep`]): far longer than any upload takes between writing its
/// object and its row.
pub const DEFAULT_ORPHAN_GRACE: std::time::Duration = std::time::Duration::from_secs(3600);

/// Where a tenant id sits in an object key: `tenants/{tenant}/documents/{document}`.
fn tenant_of_prefix(prefix: &str) -> Option<TenantId> {
    prefix.trim_end_matches('/').rsplit('/').next()?.parse().ok()
}

/// An object of the document store, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    /// Its key (`tenants/{tenant}/documents/{document}`).
    pub key: String,
    /// When it was last written.
    pub modified: Timestamp,
}

/// A small secret sealed directly with a master key (see [`Vault::seal_secret`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedSecret {
    /// The id of the master key that sealed it.
    pub key_id: String,
    /// Nonce ‖ ciphertext ‖ tag.
    pub sealed: Vec<u8>,
}

impl SealedSecret {
    /// The secret as one text column: `<key id>:<base64 of nonce ‖ ciphertext ‖ tag>`.
    pub fn to_text(&self) -> String {
        use base64::Engine;
        format!("{}:{}", self.key_id, base64::engine::general_purpose::STANDARD.encode(&self.sealed))
    }

    /// A secret stored by [`SealedSecret::to_text`]; `None` when the text is not one.
    pub fn from_text(text: &str) -> Option<Self> {
        use base64::Engine;
        let (key_id, encoded) = text.split_once(':')?;
        let sealed = base64::engine::general_purpose::STANDARD.decode(encoded).ok()?;
        Some(Self { key_id: key_id.to_owned(), sealed })
    }
}

impl Vault {
    /// Seals a small secret (a tenant's credentials for an outside service) with the current
    /// master key, bound to its tenant and its `purpose`: a sealed secret moved to another
    /// tenant or purpose does not open. It is kept in the database, never in the object store.
    pub fn seal_secret(&self, tenant: TenantId, purpose: &str, plaintext: &[u8]) -> Result<SealedSecret> {
        let nonce: [u8; NONCE_LEN] = random()?;
        let aad = secret_aad(&self.current, tenant, purpose);
        let sealed = self
            .current
            .cipher
            .encrypt(&nonce.into(), Payload { msg: plaintext, aad: &aad })
            .map_err(|_| Error::internal("sealing a secret failed"))?;
        Ok(SealedSecret { key_id: self.current.id.clone(), sealed: [nonce.as_slice(), &sealed].concat() })
    }

    /// Opens a secret sealed by [`Self::seal_secret`] with the current or a previous master key.
    pub fn open_secret(&self, tenant: TenantId, purpose: &str, secret: &SealedSecret) -> Result<Vec<u8>> {
        let master = self.key(&secret.key_id)?;
        let fail = || Error::internal(format!("a sealed {purpose} of tenant {tenant} does not open"));
        if secret.sealed.len() < NONCE_LEN {
            return Err(fail());
        }
        let (nonce, sealed) = secret.sealed.split_at(NONCE_LEN);
        let nonce = aead::Nonce::<Aes256Gcm>::try_from(nonce).map_err(|_| fail())?;
        let aad = secret_aad(master, tenant, purpose);
        master.cipher.decrypt(&nonce, Payload { msg: sealed, aad: &aad }).map_err(|_| fail())
    }
}

/// What a sealed secret is bound to: its tenant, its purpose, and the master key's id.
fn secret_aad(master: &MasterKey, tenant: TenantId, purpose: &str) -> Vec<u8> {
    [b"secret:".as_slice(), tenant.as_uuid().as_bytes(), purpose.as_bytes(), b":", master.id.as_bytes()].concat()
}

/// What a wrapped file key is bound to: its tenant, its document, and the master key's id.
fn wrap_aad(master: &MasterKey, tenant: TenantId, document: DocumentId) -> Vec<u8> {
    [tenant.as_uuid().as_bytes().as_slice(), document.as_uuid().as_bytes(), master.id.as_bytes()].concat()
}

/// Seals a file key with a master key, bound to its tenant and document.
fn wrap(master: &MasterKey, tenant: TenantId, document: DocumentId, file_key: &[u8]) -> Result<Vec<u8>> {
    let nonce: [u8; NONCE_LEN] = random()?;
    let sealed = master
        .cipher
        .encrypt(&nonce.into(), Payload { msg: file_key, aad: &wrap_aad(master, tenant, document) })
        .map_err(|_| Error::internal("wrapping a file key failed"))?;
    Ok([nonce.as_slice(), &sealed].concat())
}

/// Opens a wrapped file key.
fn unwrap(master: &MasterKey, tenant: TenantId, document: DocumentId, wrapped: &[u8]) -> Result<Vec<u8>> {
    let fail = || Error::server(ErrorCode::DocumentUnreadable, "the document's file key does not open");
    if wrapped.len() < NONCE_LEN {
        return Err(fail());
    }
    let (nonce, sealed) = wrapped.split_at(NONCE_LEN);
    let nonce = aead::Nonce::<Aes256Gcm>::try_from(nonce).map_err(|_| fail())?;
    let aad = wrap_aad(master, tenant, document);
    master.cipher.decrypt(&nonce, Payload { msg: sealed, aad: &aad }).map_err(|_| fail())
}

fn random<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| Error::internal(format!("no randomness: {e}")))?;
    Ok(bytes)
}

/// A file the document store would not take, as the client is told it: `503
/// documents_unavailable` with what went wrong in words (the store is full, not writable, or
/// failed), never the server's paths; the whole error goes to the log. Nothing was stored, and
/// no document row is written without its file.
fn unwritable(object_key: &str, error: &object_store::Error) -> Error {
    tracing::error!(object_key, %error, "the document store refused a file");
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    let mut kind = None;
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            kind = Some(io.kind());
            break;
        }
        source = e.source();
    }
    let what = match kind {
        Some(std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded) => "the document store is full",
        Some(std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem) => {
            "the document store is not writable"
        }
        _ if matches!(
            error,
            object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. }
        ) =>
        {
            "the document store refused the file (permission denied)"
        }
        _ => "the document store could not write the file",
    };
    Error::retry_later(
        ErrorCode::DocumentsUnavailable,
        format!("{what}; nothing was stored, try again later"),
        std::time::Duration::from_secs(60),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::memory::InMemory;

    /// A store that is full, or not writable, tells the client so in words, as a 503 to retry.
    #[test]
    fn a_file_the_store_refuses_is_described_without_its_path() {
        let io = |kind: std::io::ErrorKind| object_store::Error::Generic {
            store: "LocalFileSystem",
            source: Box::new(std::io::Error::new(kind, "/srv/clientele/documents/tenants/x: failed")),
        };
        let cases = [
            (std::io::ErrorKind::StorageFull, "the document store is full"),
            (std::io::ErrorKind::ReadOnlyFilesystem, "the document store is not writable"),
            (std::io::ErrorKind::PermissionDenied, "the document store is not writable"),
            (std::io::ErrorKind::NotADirectory, "the document store could not write the file"),
        ];
        for (kind, said) in cases {
            let error = unwritable("tenants/x", &io(kind));
            assert_eq!(error.code(), ErrorCode::DocumentsUnavailable);
            let message = error.to_string();
            assert!(message.starts_with(said), "{kind:?}: {message}");
            assert!(!message.contains("/srv"), "{message}");
        }
    }

    fn vault_with(objects: Arc<dyn ObjectStore>, key: u8) -> Vault {
        let Ok(master) = MasterKey::new(&[key; 32]) else { panic!("a 32-byte key") };
        Vault::new(objects, master, Vec::new())
    }

    async fn stored(objects: &InMemory, sealed: &SealedFile) -> Vec<u8> {
        match objects.get(&Path::from(sealed.object_key.as_str())).await {
            Ok(got) => got.bytes().await.map(|b| b.to_vec()).unwrap_or_default(),
            Err(_) => Vec::new(),
        }
    }

    #[test]
    fn sealed_secrets_are_bound_to_their_tenant_and_purpose_and_read_back_from_text() -> Result<()> {
        let vault = vault_with(Arc::new(InMemory::new()), 1);
        let tenant = TenantId::new();
        let sealed = vault.seal_secret(tenant, "webhook:a", b"whsec_x")?;
        let text = sealed.to_text();
        assert!(!text.contains("whsec") && text.starts_with(vault.current_key_id()));
        assert_eq!(SealedSecret::from_text(&text), Some(sealed.clone()));
        assert_eq!(vault.open_secret(tenant, "webhook:a", &sealed)?, b"whsec_x");
        assert!(vault.open_secret(tenant, "webhook:b", &sealed).is_err(), "bound to its purpose");
        assert!(vault.open_secret(TenantId::new(), "webhook:a", &sealed).is_err(), "bound to its tenant");
        assert_eq!(SealedSecret::from_text("no colon"), None);
        Ok(())
    }

    #[tokio::test]
    async fn files_are_encrypted_checked_and_rewrapped() -> Result<()> {
        let objects = Arc::new(InMemory::new());
        let vault = vault_with(objects.clone(), 1);
        let (tenant, doc) = (TenantId::new(), DocumentId::new());
        let pdf = b"%PDF-1.7 passport scan".to_vec();
        let sealed = vault.seal(tenant, doc, &pdf).await?;
        let object = stored(&objects, &sealed.file).await;
        assert!(!object.windows(5).any(|w| w == b"%PDF-"), "the file signature shows in clear");
        assert_eq!(vault.open(tenant, doc, &sealed.file, &sealed.sha256).await?, pdf);

        // The same bytes again: a different ciphertext.
        let doc2 = DocumentId::new();
        let again = vault.seal(tenant, doc2, &pdf).await?;
        assert_ne!(stored(&objects, &again.file).await[4..], object[4..]);

        // One flipped byte anywhere is detected.
        for at in [0, 5, object.len() / 2, object.len() - 1] {
            let mut flipped = object.clone();
            flipped[at] ^= 0x01;
            objects.put(&Path::from(sealed.file.object_key.as_str()), flipped.into()).await.map_err(Error::internal)?;
            let result = vault.open(tenant, doc, &sealed.file, &sealed.sha256).await;
            assert!(
                matches!(&result, Err(e) if e.code() == ErrorCode::DocumentUnreadable),
                "flipping byte {at} went unnoticed"
            );
        }
        // Under another tenant's name, the file key does not open.
        assert!(vault.open(TenantId::new(), doc, &sealed.file, &sealed.sha256).await.is_err());
        // Another document's object under this one's record does not open.
        let moved = SealedFile { object_key: again.file.object_key.clone(), ..sealed.file.clone() };
        assert!(vault.open(tenant, doc, &moved, &sealed.sha256).await.is_err());
        // A missing object is a clear error.
        vault.remove(&again.file).await?;
        let missing = vault.open(tenant, doc2, &again.file, &again.sha256).await;
        assert!(matches!(&missing, Err(e) if e.code() == ErrorCode::DocumentUnreadable));

        // Key rotation: the new key re-wraps, the file opens, and the old key is no longer needed.
        objects.put(&Path::from(sealed.file.object_key.as_str()), object.into()).await.map_err(Error::internal)?;
        let Ok(old) = MasterKey::new(&[1; 32]) else { panic!("a 32-byte key") };
        let Ok(new) = MasterKey::new(&[2; 32]) else { panic!("a 32-byte key") };
        let rotating = Vault::new(objects.clone(), new, vec![old]);
        let Some(rewrapped) = rotating.rewrap(tenant, doc, &sealed.file)? else { panic!("nothing to re-wrap") };
        assert!(rotating.rewrap(tenant, doc, &rewrapped)?.is_none());
        assert_eq!(vault_with(objects.clone(), 2).open(tenant, doc, &rewrapped, &sealed.sha256).await?, pdf);
        assert!(
            vault_with(objects, 2).open(tenant, doc, &sealed.file, &sealed.sha256).await.is_err(),
            "old wrapping, key gone"
        );
        Ok(())
    }

    #[test]
    fn a_sealed_secret_opens_only_for_its_tenant_and_purpose_and_after_rotation() {
        let objects: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let old = vault_with(objects.clone(), 1);
        let tenant = TenantId::new();
        let sealed = old.seal_secret(tenant, "cargos", b"s3cret").unwrap();
        assert!(!sealed.sealed.windows(6).any(|w| w == b"s3cret"));
        assert_eq!(old.open_secret(tenant, "cargos", &sealed).unwrap(), b"s3cret");
        assert!(old.open_secret(TenantId::new(), "cargos", &sealed).is_err());
        assert!(old.open_secret(tenant, "other", &sealed).is_err());
        let rotated = Vault::new(objects, MasterKey::new(&[2; 32]).unwrap(), vec![MasterKey::new(&[1; 32]).unwrap()]);
        assert_eq!(rotated.open_secret(tenant, "cargos", &sealed).unwrap(), b"s3cret");
        assert_ne!(rotated.seal_secret(tenant, "cargos", b"s3cret").unwrap().key_id, sealed.key_id);
    }
}
