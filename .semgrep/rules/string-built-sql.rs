// Fixture for benteng-string-built-sql (`semgrep --test .semgrep/rules`).

async fn bad(conn: &mut AnyConnection, table: &str, name: &str, n: usize) {
    // ruleid: benteng-string-built-sql
    let sql = format!("SELECT id FROM {table} WHERE name = '{name}'");
    // ruleid: benteng-string-built-sql
    let _ = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&mut *conn).await;
    let mut text = String::from("DELETE FROM tenants");
    // ruleid: benteng-string-built-sql
    text.push_str(" WHERE name = 'x'");
    // ruleid: benteng-string-built-sql
    let statement = format!("VACUUM INTO '{}'", name);
    // ruleid: benteng-string-built-sql
    let _ = sqlx::raw_sql(AssertSqlSafe(statement)).execute(&mut *conn).await;
    // ruleid: benteng-string-built-sql
    let mut builder = sqlx::QueryBuilder::new("SELECT * FROM tenants WHERE name = ");
    // ruleid: benteng-string-built-sql
    let _ = sqlx::query(&text);
    // ruleid: benteng-string-built-sql
    let head = format!("{} ON CONFLICT (code) DO NOTHING", n);
}

async fn good(conn: &mut AnyConnection, name: &str, n: usize) {
    // ok: benteng-string-built-sql
    let _ = sqlx::query("SELECT id FROM tenants WHERE name = $1")
        .bind(name)
        .fetch_all(&mut *conn)
        .await;
    // ok: benteng-string-built-sql
    let _ = sqlx::query(concat!("SELECT ", tenant_columns!(), " FROM tenants WHERE id = $1"));
    // ok: benteng-string-built-sql
    let _ = sqlx::query(Statement::new(HEAD).rows(n, 6).then(" ON CONFLICT (code) DO NOTHING").sql());
    // ok: benteng-string-built-sql
    let message = format!("tenant {name} not found");
}
