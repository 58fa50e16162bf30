// Fixture for benteng-sql-outside-store (`semgrep --test .semgrep/rules`).

async fn bad(pool: &sqlx::AnyPool, id: &str) {
    // ruleid: benteng-sql-outside-store
    let _ = sqlx::query("SELECT 1").fetch_one(pool).await;
    // ruleid: benteng-sql-outside-store
    let _ = sqlx::query_scalar("SELECT 1").fetch_one(pool).await;
    // ruleid: benteng-sql-outside-store
    let _ = sqlx::raw_sql("VACUUM").execute(pool).await;
    // ruleid: benteng-sql-outside-store
    let statement = "SELECT name FROM tenants WHERE id = $1";
    // ruleid: benteng-sql-outside-store
    let update = concat!("UPDATE tenants SET ", "status = 'suspended' WHERE id = $1");
    // ruleid: benteng-sql-outside-store
    const DROP: &str = "DROP TABLE audit_events";
}

async fn good(store: &Store, id: &str) {
    // ok: benteng-sql-outside-store
    let _ = store.tenant(id).await;
    // ok: benteng-sql-outside-store
    let help = "Select the tenant from the list, then update its name.";
    // ok: benteng-sql-outside-store
    let _ = "update";
}
