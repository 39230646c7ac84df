//! Applying a [`Selector`] to a secret, once, in core, so every backend gets selectors alike.

use serde_json::Value;
use zeroize::Zeroize;

use crate::error::{Error, ErrorKind, Result, describe_json_error};
use crate::reference::Selector;
use crate::secret::Secret;

/// Picks the selected field out of a JSON secret (spec §1).
///
/// A JSON string gives its text; any other JSON value gives its compact JSON text. A missing field
/// is [`ErrorKind::NotFound`] naming the field; a value that is not JSON is
/// [`ErrorKind::Decode`]. Intermediate copies of the document are zeroed before they are freed.
pub fn apply_selector(secret: &Secret, selector: &Selector) -> Result<Secret> {
    let mut doc: Value = serde_json::from_slice(secret.expose_secret()).map_err(|e| {
        secret.context(Error::decode(format!(
            "selector `#{selector}` needs a JSON value, but the secret is {}",
            describe_json_error(&e)
        )))
    })?;
    let picked = match selector {
        Selector::Key(key) => match &mut doc {
            Value::Object(map) => map.get_mut(key).map(Value::take),
            _ => None,
        },
        Selector::Pointer(pointer) => doc.pointer_mut(pointer).map(Value::take),
    };
    zeroize_value(&mut doc);
    let Some(mut picked) = picked else {
        return Err(secret.context(Error::new(
            ErrorKind::NotFound,
            format!("the secret has no field `{selector}`"),
        )));
    };
    let bytes = match &mut picked {
        Value::String(s) => std::mem::take(s).into_bytes(),
        other => {
            let text = serde_json::to_vec(other)
                .map_err(|e| secret.context(Error::decode(describe_json_error(&e))))?;
            zeroize_value(other);
            text
        }
    };
    Ok(secret.with_value(bytes))
}

/// Zeroes every string of a JSON document in place.
pub(crate) fn zeroize_value(value: &mut Value) {
    match value {
        Value::String(s) => s.zeroize(),
        Value::Array(items) => items.iter_mut().for_each(zeroize_value),
        Value::Object(map) => map.values_mut().for_each(zeroize_value),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}
