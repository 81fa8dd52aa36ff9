//! Turning a checked contract into its 1505-character record.

use crate::cargos::layout::{Field, FieldKind, RECORD_CHARS};
use crate::cargos::record::{CargosContract, CargosProblem, CargosRecord};
use crate::cargos::tables::CargosTables;
use crate::cargos::validate::check;
use crate::error::FieldCode;

/// The contract's record, or every problem that stops it from being sent (see
/// [`crate::cargos::validate`](mod@crate::cargos::validate)). Nothing is ever cut or guessed: a record comes back only when
/// every field fits as the specification says.
pub fn format(contract: &CargosContract, tables: &CargosTables) -> Result<CargosRecord, Vec<CargosProblem>> {
    let values = check(contract, tables)?;
    let record = assemble(&values).ok_or_else(|| {
        // Every value was checked against its width, so this is a bug, never the contract's fault.
        vec![CargosProblem::new(
            Field::ContractId,
            FieldCode::Invalid,
            "the record could not be assembled: report this bug",
        )]
    })?;
    Ok(CargosRecord::assembled(record))
}

/// The record: each value padded with spaces to its field's width, left-aligned, place codes
/// right-aligned (every code is 9 digits, so alignment only shows in a blank field, which is all
/// spaces either way). `None` if the result is not exactly [`RECORD_CHARS`] characters.
fn assemble(values: &[String]) -> Option<String> {
    let mut record = String::with_capacity(RECORD_CHARS + 16);
    for (field, value) in Field::ALL.iter().zip(values) {
        let width = field.spec().width();
        let padded =
            if field.spec().kind == FieldKind::Place { format!("{value:>width$}") } else { format!("{value:<width$}") };
        record.push_str(&padded);
    }
    (values.len() == Field::ALL.len() && record.chars().count() == RECORD_CHARS).then_some(record)
}
