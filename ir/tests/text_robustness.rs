//! Bad text gets an error, never a panic: every prefix and many one-character mutations of
//! the filetests' inputs go through the parser, and whatever parses through the verifier
//! (and, when valid, the cleanup passes).

use strata_ir::passes::{cleanup, split_critical_edges};
use strata_ir::{parse_functions, verify};

fn exercise(text: &str) {
    let Ok(funcs) = parse_functions(text) else {
        return;
    };
    for mut f in funcs {
        let _ = f.to_string();
        if verify(&f).is_ok() {
            cleanup(&mut f);
            verify(&f).unwrap_or_else(|e| panic!("cleanup broke a valid function: {e}\n{text}"));
            split_critical_edges(&mut f);
            verify(&f).unwrap();
        }
    }
}

#[test]
fn prefixes_and_mutations_do_not_panic() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/filetests");
    let mut inputs = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "ir") {
            let text = std::fs::read_to_string(&p).unwrap();
            inputs.push(text.split("; ---- output ----").next().unwrap().to_string());
        }
    }
    assert!(!inputs.is_empty());
    let replacements = [
        '0', '9', 'v', ',', '(', ')', ':', '=', ' ', '\n', '-', '}', '"', 'x',
    ];
    let mut cases = 0;
    for text in &inputs {
        let chars: Vec<(usize, char)> = text.char_indices().collect();
        for &(i, _) in &chars {
            exercise(&text[..i]);
            cases += 1;
        }
        // Mutations at every 3rd character keep the test fast while touching every token.
        for &(i, c) in chars.iter().step_by(3) {
            for r in replacements {
                if r == c {
                    continue;
                }
                let mut m = String::with_capacity(text.len());
                m.push_str(&text[..i]);
                m.push(r);
                m.push_str(&text[i + c.len_utf8()..]);
                exercise(&m);
                cases += 1;
            }
        }
    }
    assert!(cases > 1000);
}
