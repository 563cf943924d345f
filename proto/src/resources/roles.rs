//! Role names and the role hierarchy (Mesos: src/common/roles.cpp).
//!
//! Roles form a tree written as paths: `eng/frontend` is a child of `eng`.
//! `*` is the default role and stands for "unreserved" in the old resource
//! format.

/// The default role; on a resource in the old format it means "unreserved".
pub const DEFAULT_ROLE: &str = "*";

/// Checks a role name against Mesos's rules: `*`, or `/`-separated components
/// with no leading, trailing or doubled `/`, no `.`, `..` or `*` component, no
/// component starting with `-`, and no whitespace or DEL.
///
/// Returns a sentence saying what is wrong.
pub fn validate(role: &str) -> Result<(), String> {
    if role == DEFAULT_ROLE {
        return Ok(());
    }
    if role.is_empty() {
        return Err("role names cannot be the empty string".to_string());
    }
    if role.starts_with('/') {
        return Err(format!("role '{role}' cannot start with a slash"));
    }
    if role.ends_with('/') {
        return Err(format!("role '{role}' cannot end with a slash"));
    }
    if role.contains("//") {
        return Err(format!("role '{role}' cannot contain two adjacent slashes"));
    }
    for component in role.split('/') {
        match component {
            "." | ".." | "*" => {
                return Err(format!("role '{role}' cannot include '{component}' as a component"));
            }
            _ => {}
        }
        if component.starts_with('-') {
            return Err(format!(
                "role component '{component}' is invalid because it starts with a dash"
            ));
        }
        // Mesos: roles.cpp INVALID_CHARACTERS (\t \n \v \f \r space DEL).
        if component.chars().any(|c| matches!(c, '\x09'..='\x0d' | ' ' | '\x7f')) {
            return Err(format!(
                "role component '{component}' is invalid because it contains backspace or whitespace"
            ));
        }
    }
    Ok(())
}

/// True if `child` is a strict descendant of `ancestor` in the role tree
/// (`a/b` and `a/b/c` are strict subroles of `a`; `a` and `ab` are not).
pub fn is_strict_subrole_of(child: &str, ancestor: &str) -> bool {
    child.len() > ancestor.len()
        && child.starts_with(ancestor)
        && child.as_bytes()[ancestor.len()] == b'/'
}

/// The ancestors of `role`, nearest first: `a/b/c` gives `a/b`, `a`.
pub fn ancestors(role: &str) -> Vec<&str> {
    role.char_indices().rev().filter(|&(_, c)| c == '/').map(|(i, _)| &role[..i]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Proves the role name rules of Mesos's `roles::validate` (RolesTest.Validate).
    #[test]
    fn roles_test_validate() {
        for good in ["*", "role", "a/b", "a/b/c", "a-b", "a.b", "a*b"] {
            assert_eq!(validate(good), Ok(()), "{good}");
        }
        for bad in [
            "", "/a", "a/", "a//b", ".", "..", "a/./b", "a/../b", "a/*", "-a", "a/-b", "a b",
            "a\tb", "a\x7fb",
        ] {
            assert!(validate(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    /// Proves the subrole relation is strict and follows path components (RolesTest.IsStrictSubroleOf).
    #[test]
    fn roles_test_is_strict_subrole_of() {
        assert!(is_strict_subrole_of("a/b", "a"));
        assert!(is_strict_subrole_of("a/b/c", "a"));
        assert!(is_strict_subrole_of("a/b/c", "a/b"));
        assert!(!is_strict_subrole_of("a", "a"));
        assert!(!is_strict_subrole_of("ab", "a"));
        assert!(!is_strict_subrole_of("a", "a/b"));
        assert!(!is_strict_subrole_of("b/a", "a"));
    }

    /// Proves ancestors are listed nearest first (RolesTest.Ancestors).
    #[test]
    fn roles_test_ancestors() {
        assert_eq!(ancestors("a/b/c"), vec!["a/b", "a"]);
        assert!(ancestors("a").is_empty());
    }
}
