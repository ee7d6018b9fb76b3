//! Translation of the exception-handling operators (docs/abi.md §10).
//!
//! A try's catch clauses become entries of the function's handler table; nothing is executed
//! on entry to a try, so code that does not throw runs as if the try were a block. A
//! `try_table`'s clauses each get a *landing pad*, emitted before the body behind a jump: the
//! unwinder writes the payload (then the `exnref`, for `_ref` clauses) into the operand slots
//! from the try's height up and jumps to the pad, which is a branch to the clause's label with
//! those values. A legacy `catch` clause is the landing pad itself: it starts with the
//! exception in a hidden cell at the try's height (for `rethrow`) and its payload above.

use super::{Kind, Res, Translator};
use crate::interp::code::{Handler, HandlerKind, Op, NO_EXN};
use strata_vm::frontend::Arity;
use strata_vm::{cells_of, ValType};
use wasmparser::Catch;

impl Translator<'_> {
    /// The payload types of the module's tag `tag`.
    fn tag_params(&self, tag: u32) -> &[ValType] {
        self.module
            .tags
            .get(tag as usize)
            .map_or(&[], |t| &t.params[..])
    }

    pub(super) fn try_table(&mut self, tt: wasmparser::TryTable) -> Res {
        if !self.ctrl.reachable() {
            self.push_dead_ctrl(Kind::TryTable);
            return Ok(());
        }
        self.materialize_all();
        let arity = Arity::of(self.module, tt.ty);
        let height = self.stack.len() - arity.params as usize;
        let base = self.slot(height);
        let mut clauses = Vec::with_capacity(tt.catches.len());
        if !tt.catches.is_empty() {
            let skip = self.emit(Op::Br { target: 0 });
            // The try's parameters (all in their slots) stay on the abstract stack of the
            // body; each pad sees the stack below them plus the values of its clause.
            let params = self.stack.split_off(height);
            let hi = self.hi.clone();
            self.hi.retain(|&h| (h as usize) < height);
            for c in &tt.catches {
                let (kind, label, keep, tag) = match *c {
                    Catch::One { tag, label } => (HandlerKind::Tag(tag), label, false, Some(tag)),
                    Catch::OneRef { tag, label } => (HandlerKind::Tag(tag), label, true, Some(tag)),
                    Catch::All { label } => (HandlerKind::All, label, false, None),
                    Catch::AllRef { label } => (HandlerKind::All, label, true, None),
                };
                let types: Vec<ValType> = tag.map_or(Vec::new(), |t| self.tag_params(t).to_vec());
                let n = cells_of(&types);
                let pad = self.bind_label();
                for _ in 0..n + keep as u32 {
                    self.push_temp();
                }
                self.mark_types(height as u32, &types);
                // The label is resolved outside the try_table: its frame is not pushed yet.
                self.emit_branch(label);
                while self.stack.len() > height {
                    self.pop();
                }
                let exn = if keep { base + n } else { NO_EXN };
                clauses.push((kind, pad, exn));
            }
            self.stack.extend(params);
            self.hi = hi;
            let here = self.bind_label();
            self.patch(skip, here);
        }
        self.push_ctrl(Kind::TryTable, tt.ty, None);
        let frame = self.ctrl.len() as u32 - 1;
        for (kind, target, exn) in clauses {
            self.pending_catches.push(Handler {
                start: 0,
                end: 0,
                frame,
                kind,
                target,
                dst: base,
                exn,
            });
        }
        Ok(())
    }

    /// The `end` of the `try_table` at control depth `frame`, whose body is `start..end`:
    /// its clauses join the handler table (after those of the tries nested in it).
    pub(super) fn close_try_table(&mut self, frame: u32, start: u32, end: u32) {
        let from = self
            .pending_catches
            .iter()
            .rposition(|h| h.frame != frame)
            .map_or(0, |i| i + 1);
        for mut h in self.pending_catches.drain(from..) {
            h.start = start;
            h.end = end;
            self.handlers.push(h);
        }
    }

    pub(super) fn throw(&mut self, tag: u32) {
        if !self.ctrl.reachable() {
            return;
        }
        let n = cells_of(self.tag_params(tag)) as usize;
        self.materialize_top(n);
        let base = self.slot(self.stack.len() - n);
        self.emit(Op::Throw { tag, base });
        self.unreachable_now();
    }

    /// A legacy `catch` (`tag`) or `catch_all` (`None`): closes the try's body or previous
    /// clause and starts a clause, which is its own landing pad.
    pub(super) fn legacy_catch(&mut self, tag: Option<u32>) -> Res {
        let f = self.ctrl.last().ok_or("catch outside try")?;
        if !matches!(f.kind, Kind::LegacyTry | Kind::LegacyCatch) {
            return Err("catch outside try".into());
        }
        if !f.reachable {
            self.ctrl.enter_catch(tag.is_none());
            return Ok(());
        }
        let frame = self.ctrl.len() - 1;
        let (height, results, start) = (f.height, f.arity.results, f.payload.header);
        let body_end = if f.kind == Kind::LegacyTry {
            self.ops.len() as u32
        } else {
            f.payload.body_end
        };
        if self.ctrl.reachable() {
            self.emit_copies(self.num_locals + height, results as usize);
            let at = self.emit(Op::Br { target: 0 });
            self.add_fixup(frame, at);
        }
        let pad = self.bind_label();
        let f = self
            .ctrl
            .enter_catch(tag.is_none())
            .ok_or("catch outside try")?;
        f.payload.body_end = body_end;
        self.reset_stack(height, 0);
        let exn = self.push_temp();
        let types: Vec<ValType> = tag.map_or(Vec::new(), |t| self.tag_params(t).to_vec());
        for _ in 0..cells_of(&types) {
            self.push_temp();
        }
        self.mark_types(height + 1, &types);
        self.handlers.push(Handler {
            start,
            end: body_end,
            frame: frame as u32,
            kind: tag.map_or(HandlerKind::All, HandlerKind::Tag),
            target: pad,
            dst: exn + 1,
            exn,
        });
        Ok(())
    }

    /// Legacy `delegate`: ends a `try` whose body's exceptions continue as if thrown inside
    /// the frame at `relative_depth` (counted from outside the try).
    pub(super) fn delegate(&mut self, relative_depth: u32) -> Res {
        let f = self.ctrl.last().ok_or("delegate outside try")?;
        if !f.reachable {
            self.ctrl.pop();
            return Ok(());
        }
        let frame = self.ctrl.len() as u32 - 1;
        let target = self.ctrl.label_index(relative_depth + 1) as u32;
        self.handlers.push(Handler {
            start: f.payload.header,
            end: self.ops.len() as u32,
            frame,
            kind: HandlerKind::Delegate(target),
            target: 0,
            dst: 0,
            exn: NO_EXN,
        });
        self.end(self.ctrl.reachable())
    }
}
