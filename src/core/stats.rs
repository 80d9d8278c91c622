//! Small statistics the planning contract needs: the inverse of the standard normal CDF (for the
//! service-level z) and the sample standard deviation. Pure functions, no allocation.

/// Φ⁻¹(p): the standard normal quantile, by Wichura's algorithm AS 241 (PPND16), accurate to about
/// 1e-16 relative — far inside the contract's 1e-9. Returns `None` unless 0 < p < 1.
pub fn inverse_normal_cdf(p: f64) -> Option<f64> {
    if !(p > 0.0 && p < 1.0) {
        return None;
    }
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180625 - q * q;
        let num = (((((((2.509_080_928_730_122_7e3 * r + 3.343_057_558_358_813e4) * r
            + 6.726_577_092_700_87e4)
            * r
            + 4.592_195_393_154_987e4)
            * r
            + 1.373_169_376_550_946e4)
            * r
            + 1.971_590_950_306_551_3e3)
            * r
            + 1.331_416_678_917_843_8e2)
            * r
            + 3.387_132_872_796_366_5)
            * q;
        let den = ((((((5.226_495_278_852_545e3 * r + 2.872_908_573_572_194_3e4) * r
            + 3.930_789_580_009_271e4)
            * r
            + 2.121_379_430_158_659_7e4)
            * r
            + 5.394_196_021_424_751e3)
            * r
            + 6.871_870_074_920_579e2)
            * r
            + 4.231_333_070_160_091e1)
            * r
            + 1.0;
        return Some(num / den);
    }
    let r = if q < 0.0 { p } else { 1.0 - p };
    let r = (-r.ln()).sqrt();
    let value = if r <= 5.0 {
        let r = r - 1.6;
        let num = ((((((7.745_450_142_783_414e-4 * r + 2.272_384_498_926_918_4e-2) * r
            + 2.417_807_251_774_506e-1)
            * r
            + 1.270_458_252_452_368_4)
            * r
            + 3.647_848_324_763_204_5)
            * r
            + 5.769_497_221_460_691)
            * r
            + 4.630_337_846_156_546)
            * r
            + 1.423_437_110_749_683_5;
        let den = ((((((1.050_750_071_644_416_9e-9 * r + 5.475_938_084_995_345e-4) * r
            + 1.519_866_656_361_645_7e-2)
            * r
            + 1.481_039_764_274_800_7e-1)
            * r
            + 6.897_673_349_851e-1)
            * r
            + 1.676_384_830_183_803_8)
            * r
            + 2.053_191_626_637_759)
            * r
            + 1.0;
        num / den
    } else {
        let r = r - 5.0;
        let num = ((((((2.010_334_399_292_288_1e-7 * r + 2.711_555_568_743_487_6e-5) * r
            + 1.242_660_947_388_078_4e-3)
            * r
            + 2.653_218_952_657_612_4e-2)
            * r
            + 2.965_605_718_285_048_7e-1)
            * r
            + 1.784_826_539_917_291_3)
            * r
            + 5.463_784_911_164_114)
            * r
            + 6.657_904_643_501_103;
        let den = ((((((2.044_263_103_389_939_7e-15 * r + 1.421_511_758_316_446e-7) * r
            + 1.846_318_317_510_054_8e-5)
            * r
            + 7.868_691_311_456_133e-4)
            * r
            + 1.487_536_129_085_061_5e-2)
            * r
            + 1.369_298_809_227_358e-1)
            * r
            + 5.998_322_065_558_88e-1)
            * r
            + 1.0;
        num / den
    };
    Some(if q < 0.0 { -value } else { value })
}

/// Sample standard deviation (denominator n − 1); 0 when fewer than two values.
pub fn sample_stddev(values: &[f64]) -> f64 {
    let n = values.len();
    if n < 2 {
        return 0.0;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let ss: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
    (ss / (n as f64 - 1.0)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference quantiles (R's qnorm / mpmath to 17 digits).
    const KNOWN: &[(f64, f64)] = &[
        (0.5, 0.0),
        (0.8, 0.841_621_233_572_914_3),
        (0.9, 1.281_551_565_544_600_5),
        (0.95, 1.644_853_626_951_472_2),
        (0.975, 1.959_963_984_540_054),
        (0.99, 2.326_347_874_040_841),
        (0.995, 2.575_829_303_548_900_4),
        (0.999, 3.090_232_306_167_813_5),
        (0.9999, 3.719_016_485_455_709_4),
        (0.05, -1.644_853_626_951_472_2),
        (1e-10, -6.361_340_902_404_056),
    ];

    #[test]
    fn quantiles_match_reference_values_to_1e_9() {
        for &(p, want) in KNOWN {
            let got = inverse_normal_cdf(p).unwrap();
            assert!((got - want).abs() < 1e-9, "p={p}: {got} vs {want}");
        }
    }

    #[test]
    fn out_of_range_is_none_and_symmetry_holds() {
        for p in [0.0, 1.0, -0.1, 1.5, f64::NAN] {
            assert_eq!(inverse_normal_cdf(p), None, "p={p}");
        }
        for p in [0.01, 0.2, 0.33, 0.49] {
            let a = inverse_normal_cdf(p).unwrap();
            let b = inverse_normal_cdf(1.0 - p).unwrap();
            assert!((a + b).abs() < 1e-12, "p={p}");
        }
    }

    #[test]
    fn sample_stddev_by_hand() {
        // 2,4,4,4,5,5,7,9: mean 5, squared deviations sum 32, /7 → sqrt(32/7).
        let v = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        assert!((sample_stddev(&v) - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
        assert_eq!(sample_stddev(&[3.0]), 0.0);
        assert_eq!(sample_stddev(&[]), 0.0);
    }
}
