//! Country matching for nationality evidence: ISO 3166-1 alpha-2 codes and common English (and
//! Indonesian) names map to one code. Unknown strings are compared after folding.

use std::collections::HashMap;
use std::sync::OnceLock;

/// `CODE|name|name…` rows. Covers the countries that appear in the shipped lists plus
/// Indonesia's neighbours and main corridors; anything else falls back to folded-name equality.
const TABLE: &str = "\
AF|afghanistan|afganistan
AL|albania
DZ|algeria|aljazair
AO|angola
AR|argentina
AM|armenia
AU|australia
AT|austria
AZ|azerbaijan
BH|bahrain
BD|bangladesh
BY|belarus
BE|belgium
BA|bosnia and herzegovina|bosnia
BR|brazil
BG|bulgaria
MM|burma|myanmar
BI|burundi
KH|cambodia|kamboja
CM|cameroon
CA|canada
CF|central african republic
TD|chad
CL|chile
CN|china|tiongkok|cina|people s republic of china
CO|colombia
CG|congo|republic of the congo
CD|democratic republic of the congo|congo democratic republic of the|drc
HR|croatia
CU|cuba
CY|cyprus
CZ|czech republic|czechia
DK|denmark
DJ|djibouti
DO|dominican republic
EC|ecuador
EG|egypt|mesir
ER|eritrea
EE|estonia
ET|ethiopia
FI|finland
FR|france|perancis
GE|georgia
DE|germany|jerman
GH|ghana
GR|greece
GT|guatemala
GN|guinea
GW|guinea bissau
HT|haiti
HN|honduras
HK|hong kong
HU|hungary
IN|india
ID|indonesia|republik indonesia|wni
IR|iran|iran islamic republic of|islamic republic of iran
IQ|iraq|irak
IE|ireland
IL|israel
IT|italy|italia
JP|japan|jepang
JO|jordan|yordania
KZ|kazakhstan
KE|kenya
KP|north korea|korea north|democratic people s republic of korea|korea democratic people s republic of|korea utara
KR|south korea|korea south|republic of korea|korea selatan
KW|kuwait
KG|kyrgyzstan
LA|laos|lao people s democratic republic
LV|latvia
LB|lebanon|libanon
LY|libya|libyan arab jamahiriya
LT|lithuania
LU|luxembourg
MY|malaysia
MV|maldives
ML|mali
MT|malta
MR|mauritania
MX|mexico
MD|moldova|republic of moldova
MN|mongolia
ME|montenegro
MA|morocco|maroko
MZ|mozambique
NL|netherlands|belanda
NZ|new zealand
NI|nicaragua
NE|niger
NG|nigeria
MK|north macedonia|macedonia
NO|norway
OM|oman
PK|pakistan
PS|palestine|palestinian territory|state of palestine|palestina
PA|panama
PH|philippines|filipina
PL|poland
PT|portugal
QA|qatar
RO|romania
RU|russia|russian federation|rusia
RW|rwanda
SA|saudi arabia|arab saudi
SN|senegal
RS|serbia
SL|sierra leone
SG|singapore|singapura
SK|slovakia
SI|slovenia
SO|somalia
ZA|south africa
SS|south sudan
ES|spain|spanyol
LK|sri lanka
SD|sudan
SE|sweden
CH|switzerland|swiss
SY|syria|syrian arab republic|suriah
TW|taiwan
TJ|tajikistan
TZ|tanzania|united republic of tanzania
TH|thailand
TL|timor leste|east timor
TN|tunisia
TR|turkey|turkiye|turki
TM|turkmenistan
UG|uganda
UA|ukraine
AE|united arab emirates|uae|uni emirat arab
GB|united kingdom|uk|great britain|britain|inggris
US|united states|united states of america|usa|amerika serikat
UY|uruguay
UZ|uzbekistan
VE|venezuela
VN|vietnam|viet nam
YE|yemen|yaman
ZM|zambia
ZW|zimbabwe";

fn fold(s: &str) -> String {
    let ascii = any_ascii::any_ascii(s).to_ascii_lowercase();
    ascii
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty() && *w != "the")
        .collect::<Vec<_>>()
        .join(" ")
}

fn map() -> &'static HashMap<String, &'static str> {
    static M: OnceLock<HashMap<String, &'static str>> = OnceLock::new();
    M.get_or_init(|| {
        let mut m = HashMap::new();
        for line in TABLE.lines() {
            let mut parts = line.split('|');
            let Some(code) = parts.next() else { continue };
            m.insert(code.to_ascii_lowercase(), code);
            for name in parts {
                m.insert(fold(name), code);
            }
        }
        m
    })
}

/// Canonical key for a country string: the ISO alpha-2 code when known, else the folded text.
pub(crate) fn country_key(s: &str) -> Option<String> {
    let f = fold(s);
    if f.is_empty() {
        return None;
    }
    Some(match map().get(&f) {
        Some(code) => (*code).to_string(),
        None => f,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn keys() {
        assert_eq!(country_key("ID"), country_key("Indonesia"));
        assert_eq!(country_key("Iran (Islamic Republic of)"), Some("IR".into()));
        assert_eq!(
            country_key("Democratic Republic of the Congo"),
            Some("CD".into())
        );
        assert_eq!(country_key("Narnia"), Some("narnia".into()));
        assert_eq!(country_key(" - "), None);
    }
}
