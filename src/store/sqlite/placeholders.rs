//! Numbered placeholders made plain where SQLite would search for them.

/// `sql` with its placeholders as `?` when they are `$1`, `$2`, … `$n`, each once
/// and in that order (sqlx then binds the arguments in order, as it would have);
/// otherwise `sql` unchanged. Text in quotes is left alone.
pub fn in_order(sql: String) -> String {
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut expected = 1usize;
    let mut copied = 0;
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'\'' || b == b'"' => quote = Some(b),
            None if b == b'$' => {
                let digits = bytes[i + 1..]
                    .iter()
                    .take_while(|d| d.is_ascii_digit())
                    .count();
                if digits == 0 {
                    return sql;
                }
                let number: usize = match sql[i + 1..i + 1 + digits].parse() {
                    Ok(n) => n,
                    Err(_) => return sql,
                };
                if number != expected {
                    return sql;
                }
                expected += 1;
                out.push_str(&sql[copied..i]);
                out.push('?');
                i += 1 + digits;
                copied = i;
                continue;
            }
            None => {}
        }
        i += 1;
    }
    out.push_str(&sql[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::in_order;

    #[test]
    fn placeholders_in_order_become_plain() {
        assert_eq!(
            in_order("INSERT INTO t VALUES ($1,$2),($3,$4)".into()),
            "INSERT INTO t VALUES (?,?),(?,?)"
        );
        assert_eq!(
            in_order("UPDATE m SET n = $1 WHERE id IN ($2,$3) AND s = '$9'".into()),
            "UPDATE m SET n = ? WHERE id IN (?,?) AND s = '$9'"
        );
    }

    #[test]
    fn placeholders_repeated_or_out_of_order_stay_numbered() {
        for sql in [
            "UPDATE t SET a = $1 WHERE b = $1",
            "SELECT $2, $1",
            "SELECT * FROM t WHERE id IN ($2,$3)",
        ] {
            assert_eq!(in_order(sql.into()), sql);
        }
    }
}
