//! Platform settings, tenants, users, platform admins.

use clientele_core::ErrorCode;
use clientele_core::accounts::user::{PasswordHashString, PlatformAdmin, Role, User};
use clientele_core::ids::{PlatformAdminId, UserId};
use clientele_core::store::Store;
use clientele_core::time::Timestamp;
use clientele_core::values::Email;

use crate::fixtures::tenant;

fn user(tenant: &clientele_core::accounts::tenant::Tenant, email: &str, role: Role) -> User {
    User {
        tenant_id: tenant.id,
        id: UserId::new(),
        email: Email::parse(email).unwrap(),
        role,
        partner_id: None,
        password_hash: PasswordHashString::from_stored("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        disabled: false,
        token_generation: 0,
        created_at: Timestamp::now(),
    }
}

conformance! {
    async fn the_token_signing_key_is_stored_once_and_then_kept(store: &dyn Store) {
        let first = store.token_signing_key(&[1; 32]).await.unwrap();
        let second = store.token_signing_key(&[2; 32]).await.unwrap();
        assert_eq!(first, vec![1; 32]);
        assert_eq!(second, first);
    }

    async fn tenants_read_back_as_written(store: &dyn Store) {
        let a = tenant(store, "Autonoleggio Rossi").await;
        assert_eq!(store.get_tenant(a.id).await.unwrap(), Some(a.clone()));
        assert_eq!(store.find_tenant_by_name("Autonoleggio Rossi").await.unwrap(), Some(a));
        assert_eq!(store.find_tenant_by_name("nobody").await.unwrap(), None);
    }

    async fn users_are_found_by_id_and_email_within_their_tenant_only(store: &dyn Store) {
        let a = tenant(store, "A").await;
        let b = tenant(store, "B").await;
        let alice = user(&a, "alice@example.com", Role::Operator);
        store.insert_user(&alice).await.unwrap();
        assert_eq!(store.get_user(a.id, alice.id).await.unwrap(), Some(alice.clone()));
        assert_eq!(store.find_user_by_email(a.id, &alice.email).await.unwrap(), Some(alice.clone()));
        assert_eq!(store.get_user(b.id, alice.id).await.unwrap(), None);
        assert_eq!(store.find_user_by_email(b.id, &alice.email).await.unwrap(), None);
        // The same email may exist in another tenant, but not twice in one.
        store.insert_user(&user(&b, "alice@example.com", Role::Admin)).await.unwrap();
        let again = store.insert_user(&user(&a, "alice@example.com", Role::Admin)).await.unwrap_err();
        assert_eq!(again.code(), ErrorCode::Conflict);
    }

    async fn disabling_a_user_is_stored_and_scoped_to_its_tenant(store: &dyn Store) {
        let a = tenant(store, "A").await;
        let b = tenant(store, "B").await;
        let bob = user(&a, "bob@example.com", Role::Driver);
        store.insert_user(&bob).await.unwrap();
        assert!(!store.set_user_disabled(b.id, bob.id, true).await.unwrap());
        assert!(store.set_user_disabled(a.id, bob.id, true).await.unwrap());
        assert!(store.get_user(a.id, bob.id).await.unwrap().unwrap().disabled);
    }

    async fn disabling_and_revoking_move_a_users_token_generation_on_and_enabling_does_not(store: &dyn Store) {
        let a = tenant(store, "A").await;
        let b = tenant(store, "B").await;
        let carla = user(&a, "carla@example.com", Role::Operator);
        store.insert_user(&carla).await.unwrap();
        let read = || async { store.get_user(a.id, carla.id).await.unwrap().unwrap().token_generation };
        assert_eq!(read().await, 0);
        assert!(store.revoke_user_tokens(a.id, carla.id).await.unwrap());
        assert_eq!(read().await, 1);
        assert!(store.set_user_disabled(a.id, carla.id, true).await.unwrap());
        assert_eq!(read().await, 2);
        assert!(store.set_user_disabled(a.id, carla.id, false).await.unwrap());
        assert_eq!(read().await, 2);
        // Scoped to the tenant, like everything else.
        assert!(!store.revoke_user_tokens(b.id, carla.id).await.unwrap());
        assert_eq!(read().await, 2);
    }

    async fn platform_admins_have_unique_emails(store: &dyn Store) {
        let admin = PlatformAdmin {
            id: PlatformAdminId::new(),
            email: Email::parse("root@example.com").unwrap(),
            password_hash: PasswordHashString::from_stored("x".into()),
            disabled: false,
            token_generation: 0,
            created_at: Timestamp::now(),
        };
        store.insert_platform_admin(&admin).await.unwrap();
        assert_eq!(store.get_platform_admin(admin.id).await.unwrap(), Some(admin.clone()));
        assert_eq!(store.find_platform_admin_by_email(&admin.email).await.unwrap(), Some(admin.clone()));
        assert!(store.revoke_platform_admin_tokens(admin.id).await.unwrap());
        assert_eq!(store.get_platform_admin(admin.id).await.unwrap().unwrap().token_generation, 1);
        assert!(!store.revoke_platform_admin_tokens(PlatformAdminId::new()).await.unwrap());
        let twice = PlatformAdmin { id: PlatformAdminId::new(), ..admin };
        assert_eq!(store.insert_platform_admin(&twice).await.unwrap_err().code(), ErrorCode::Conflict);
    }
}
