//! Money: an amount in minor units (cents) of a currency, the one shape every amount has — a
//! deal's value, a custom money field's value, the figures summed from them.

use std::fmt;

use crate::deal::{amount_major, format_amount};
use crate::organization::Currency;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    pub fn new(minor: i64, currency: Currency) -> Self {
        Money { minor, currency }
    }

    /// Nothing, in `currency`.
    pub fn zero(currency: Currency) -> Self {
        Money::new(0, currency)
    }

    /// The amount as the API shows it: a number of major units (`1250.5`).
    pub fn major(self) -> f64 {
        amount_major(self.minor)
    }

    /// The amount weighted by a chance in percent (a deal's forecast), rounded down to a cent.
    pub fn weighted(self, probability: i64) -> Money {
        Money::new(
            crate::deal::weighted(self.minor, probability),
            self.currency,
        )
    }
}

/// `12 500.00 EUR`.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_amount(self.minor, self.currency.code()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_shows_its_amount_and_currency() {
        let usd = Currency::parse("USD").expect("a currency");
        let price = Money::new(1_250_050, usd);
        assert_eq!(price.to_string(), "12\u{202f}500.50 USD");
        assert_eq!(price.major(), 12_500.5);
        assert_eq!(price.weighted(25), Money::new(312_512, usd));
        assert_eq!(Money::zero(usd).to_string(), "0 USD");
    }
}
