//! How long a program runs: a kinematic estimate of the program as written, tool by tool.
//!
//! The model, with every figure from the machine profile ([`crate::machine::MachineFile`]):
//! - a feed move runs at its `F`, accelerating and braking at `acceleration-mm-per-s2`
//!   (trapezoidal speed profiles, planned ahead over the whole chain of feed moves);
//! - at a corner the speed carried through is full below `corner-full-speed-deg` of turn, none
//!   from `corner-stop-deg` on, and in proportion between; an arc is its chords, whose
//!   corners are slight, so it runs at full feed;
//! - a block takes at least `1 / block-rate-per-s` seconds (the control reads no faster);
//! - a rapid runs each axis group at its own rate (`rapid-xy-mm-per-min`, `rapid-z-mm-per-min`)
//!   from rest to rest, the longer of the two;
//! - a tool change takes `tool-change-s`, a `G4 P` dwell its seconds;
//! - the sum is scaled by the profile's `time-scale`, a shop's calibration.
//!
//! Not modelled: spindle acceleration outside the tool change, look-ahead buffer limits,
//! the control's own smoothing tolerances.

use super::program::{arc_chords, Blocks};
use crate::error::{Error, Result};
use crate::machine::MachineFile;

/// What one tool's part of the program costs, from its tool change to the next.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct ToolTime {
    /// The tool number.
    pub tool: u32,
    /// Seconds, tool change included.
    pub cycle_time_s: f64,
    /// Length of the feed moves, in mm.
    pub cutting_mm: f64,
    /// Length of the rapid moves, in mm.
    pub rapid_mm: f64,
    /// Rapid moves up, away from the work.
    pub retracts: usize,
}

/// The cycle time of a program: each tool's part, in the order they run, and the total.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct CycleTime {
    /// One entry per tool change, in program order.
    pub tools: Vec<ToolTime>,
    /// The whole program (what runs before the first tool change included).
    pub program: ToolTime,
}

/// The speed a feed move may carry through a corner, as a fraction of the lower of the two
/// feeds: 1 below `full_deg` of turn, 0 from `stop_deg` on, linear between.
fn corner_factor(turn_deg: f64, full_deg: f64, stop_deg: f64) -> f64 {
    if turn_deg <= full_deg {
        1.0
    } else if turn_deg >= stop_deg {
        0.0
    } else {
        (stop_deg - turn_deg) / (stop_deg - full_deg)
    }
}

/// Seconds to run `length` mm from speed `entry` to `exit` (mm/s), cruising at most at
/// `cruise`, accelerating and braking at `accel`.
fn trapezoid(length: f64, entry: f64, exit: f64, cruise: f64, accel: f64) -> f64 {
    if length <= 0.0 {
        return 0.0;
    }
    let up = (cruise * cruise - entry * entry) / (2.0 * accel);
    let down = (cruise * cruise - exit * exit) / (2.0 * accel);
    if up + down <= length {
        (cruise - entry) / accel + (cruise - exit) / accel + (length - up - down) / cruise
    } else {
        let peak = ((2.0 * accel * length + entry * entry + exit * exit) / 2.0).sqrt();
        ((peak - entry) + (peak - exit)).max(0.0) / accel
    }
}

/// One straight piece of a feed block.
struct Piece {
    length: f64,
    direction: [f64; 3],
    /// Feed, mm/s.
    speed: f64,
}

/// Seconds to run each of a chain of feed pieces without a stop, from rest to rest: speeds
/// planned ahead (backwards from the end, then forwards from the start) within each corner's
/// limit.
fn chain_times(pieces: &[Piece], file: &MachineFile) -> Vec<f64> {
    let n = pieces.len();
    let accel = file.acceleration_mm_per_s2;
    // The most speed each junction (after piece k) may carry.
    let mut exit: Vec<f64> = (0..n)
        .map(|k| match pieces.get(k + 1) {
            Some(next) => {
                let [a, b] = [pieces[k].direction, next.direction];
                let cos = (a[0] * b[0] + a[1] * b[1] + a[2] * b[2]).clamp(-1.0, 1.0);
                let turn = cos.acos().to_degrees();
                pieces[k].speed.min(next.speed) * corner_factor(turn, file.corner_full_speed_deg, file.corner_stop_deg)
            }
            None => 0.0,
        })
        .collect();
    // Backwards: each junction no faster than the next can be braked to over the piece between.
    for k in (0..n.saturating_sub(1)).rev() {
        exit[k] = exit[k].min((exit[k + 1] * exit[k + 1] + 2.0 * accel * pieces[k + 1].length).sqrt());
    }
    // Forwards: no faster than the piece can accelerate to from its entry.
    let mut entry = 0.0;
    pieces
        .iter()
        .zip(&mut exit)
        .map(|(piece, exit)| {
            *exit = exit.min((entry * entry + 2.0 * accel * piece.length).sqrt());
            let time = trapezoid(piece.length, entry, *exit, piece.speed, accel);
            entry = *exit;
            time
        })
        .collect()
}

/// Seconds of a rapid from rest to rest: each axis group at its own rate, the longer.
fn rapid_time(from: [f64; 3], to: [f64; 3], file: &MachineFile) -> f64 {
    let xy = (to[0] - from[0]).hypot(to[1] - from[1]);
    let z = (to[2] - from[2]).abs();
    let accel = file.acceleration_mm_per_s2;
    let t_xy = trapezoid(xy, 0.0, 0.0, file.rapid_xy_mm_per_min / 60.0, accel);
    let t_z = trapezoid(z, 0.0, 0.0, file.rapid_z_mm_per_min / 60.0, accel);
    t_xy.max(t_z)
}

/// What one block says.
struct Words {
    target: [f64; 3],
    has_axis: bool,
    machine_coords: bool,
    /// `G4`, with its `P` seconds.
    dwell: Option<f64>,
    non_motion: bool,
    /// The centre of an arc: the start plus `I`, `J`.
    center: [f64; 2],
}

/// The reader's state and what it has added up.
struct Clock<'a> {
    file: &'a MachineFile,
    at: [f64; 3],
    motion: u8,
    /// Feed, mm/min.
    feed: f64,
    pending_tool: Option<u32>,
    /// The feed pieces since the last stop, and the blocks they came from with each one's
    /// first piece, for the block-rate limit.
    chain: Vec<Piece>,
    chain_blocks: Vec<usize>,
    time: CycleTime,
}

impl Clock<'_> {
    /// The part of the program running now: the current tool's, else what comes first.
    fn current(&mut self) -> &mut ToolTime {
        match self.time.tools.last_mut() {
            Some(tool) => tool,
            None => &mut self.time.program,
        }
    }

    fn add_time(&mut self, seconds: f64) {
        self.current().cycle_time_s += seconds;
    }

    /// Ends the chain of feed moves: the machine stops. Each block takes as long as its
    /// pieces, and at least one read period of the control.
    fn stop(&mut self) {
        let times = chain_times(&self.chain, self.file);
        let mut starts = std::mem::take(&mut self.chain_blocks);
        starts.push(self.chain.len());
        let period = 1.0 / self.file.block_rate_per_s;
        let seconds: f64 = starts.windows(2).map(|pair| times[pair[0]..pair[1]].iter().sum::<f64>().max(period)).sum();
        self.chain.clear();
        self.add_time(seconds);
    }

    /// Reads the words of block `number`: the modal state is updated, a tool change run.
    fn words(&mut self, words: &[(char, f64)], number: usize) -> Result<Words> {
        let mut w = Words {
            target: self.at,
            has_axis: false,
            machine_coords: false,
            dwell: None,
            non_motion: false,
            center: [0.0; 2],
        };
        let (mut i, mut j) = (0.0, 0.0);
        for &(letter, value) in words {
            match letter {
                'G' => match value {
                    v if v == 0.0 || v == 1.0 || v == 2.0 || v == 3.0 => self.motion = v as u8,
                    4.0 => w.dwell = Some(0.0),
                    // G28 and G30 go home, above the work, as a G53 retract does.
                    28.0 | 30.0 | 53.0 => w.machine_coords = true,
                    10.0 | 92.0 => w.non_motion = true,
                    _ => {}
                },
                'X' => (w.target[0], w.has_axis) = (value, true),
                'Y' => (w.target[1], w.has_axis) = (value, true),
                'Z' => (w.target[2], w.has_axis) = (value, true),
                'I' => i = value,
                'J' => j = value,
                'F' => self.feed = value,
                'P' if w.dwell.is_some() => w.dwell = Some(value),
                'T' => self.pending_tool = Some(value as u32),
                'M' if value == 6.0 => {
                    self.stop();
                    let tool = self
                        .pending_tool
                        .ok_or_else(|| Error::Program(format!("line {}: M6 without T", number + 1)))?;
                    self.time.tools.push(ToolTime {
                        tool,
                        cycle_time_s: self.file.tool_change_s,
                        ..ToolTime::default()
                    });
                }
                _ => {}
            }
        }
        w.center = [self.at[0] + i, self.at[1] + j];
        Ok(w)
    }

    fn block(&mut self, words: &[(char, f64)], number: usize) -> Result<()> {
        let Words { target, has_axis, machine_coords, dwell, non_motion, center } = self.words(words, number)?;
        if let Some(seconds) = dwell {
            self.stop();
            self.add_time(seconds.max(0.0));
            return Ok(());
        }
        if !has_axis || non_motion {
            return Ok(());
        }
        if machine_coords {
            // A G53 move: a retract to the machine's top, at rapid rate, the length unknown
            // to the work: counted as a retract from here to the clearance plane and back.
            self.stop();
            self.current().retracts += 1;
            return Ok(());
        }
        let from = self.at;
        self.at = target;
        let length =
            ((target[0] - from[0]).powi(2) + (target[1] - from[1]).powi(2) + (target[2] - from[2]).powi(2)).sqrt();
        if self.motion == 0 {
            self.stop();
            let seconds = rapid_time(from, target, self.file);
            let tool = self.current();
            tool.rapid_mm += length;
            tool.retracts += usize::from(target[2] > from[2] && target[0] == from[0] && target[1] == from[1]);
            tool.cycle_time_s += seconds;
            return Ok(());
        }
        if self.feed <= 0.0 {
            return Err(Error::Program(format!("line {}: a feed move without a feed", number + 1)));
        }
        let speed = self.feed / 60.0;
        self.chain_blocks.push(self.chain.len());
        let mut points = vec![from];
        if self.motion == 1 {
            points.push(target);
        } else {
            arc_chords(from, target, center, self.motion == 2, &mut points);
        }
        let mut cut = 0.0;
        for pair in points.windows(2) {
            let d = [pair[1][0] - pair[0][0], pair[1][1] - pair[0][1], pair[1][2] - pair[0][2]];
            let l = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
            if l > 0.0 {
                self.chain.push(Piece { length: l, direction: [d[0] / l, d[1] / l, d[2] / l], speed });
                cut += l;
            }
        }
        self.current().cutting_mm += cut;
        Ok(())
    }
}

/// The cycle time of `program` on the machine of `file`, tool by tool.
///
/// # Errors
///
/// [`Error::Program`] for a block that cannot be read or a feed move without a feed.
pub fn cycle_time(program: &str, file: &MachineFile) -> Result<CycleTime> {
    let lines: Vec<&str> = program.lines().collect();
    let blocks = Blocks::read(&lines);
    let mut clock = Clock {
        file,
        at: [0.0, 0.0, file.clearance_z_mm],
        motion: 0,
        feed: 0.0,
        pending_tool: None,
        chain: Vec::new(),
        chain_blocks: Vec::new(),
        time: CycleTime::default(),
    };
    let mut from = 0;
    for (number, &end) in blocks.ends.iter().enumerate() {
        clock.block(&blocks.words[from..end], number)?;
        from = end;
    }
    if let Some(why) = &blocks.error {
        return Err(Error::Program(format!("line {}: {why}", blocks.ends.len() + 1)));
    }
    clock.stop();
    let scale = file.time_scale;
    let mut time = clock.time;
    let mut total = time.program;
    total.cycle_time_s *= scale;
    for tool in &mut time.tools {
        tool.cycle_time_s *= scale;
        total.cycle_time_s += tool.cycle_time_s;
        total.cutting_mm += tool.cutting_mm;
        total.rapid_mm += tool.rapid_mm;
        total.retracts += tool.retracts;
    }
    time.program = total;
    Ok(time)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::Machine;

    /// The built-in Haas profile's file, with `set` applied.
    fn file(set: impl FnOnce(&mut MachineFile)) -> MachineFile {
        let mut file = Machine::built_in("haas").expect("built in").expect("valid").file().clone();
        set(&mut file);
        file
    }

    fn close(got: f64, want: f64) {
        assert!((got - want).abs() < 1e-6 * want.max(1.0), "{got} s, expected {want} s");
    }

    #[test]
    fn a_square_stops_at_each_corner() {
        // 10 mm sides at 600 mm/min (10 mm/s), 100 mm/s2: each side accelerates for 0.1 s
        // over 0.5 mm, cruises 9 mm for 0.9 s and brakes 0.1 s: 1.1 s a side.
        let f = file(|f| {
            f.acceleration_mm_per_s2 = 100.0;
            f.tool_change_s = 7.0;
        });
        let program = "T1 M6\nG1 X10. Y0. F600.\nX10. Y10.\nX0. Y10.\nX0. Y0.\n";
        let time = cycle_time(program, &f).unwrap();
        assert_eq!(time.tools.len(), 1);
        close(time.tools[0].cycle_time_s, 7.0 + 4.0 * 1.1);
        close(time.tools[0].cutting_mm, 40.0);
        close(time.program.cycle_time_s, 7.0 + 4.4);
        // Corners under the full-speed angle: one side of 40 mm, two ramps.
        let line = "T1 M6\nG1 X10. F600.\nX20.\nX30.\nX40.\n";
        close(cycle_time(line, &f).unwrap().program.cycle_time_s, 7.0 + 0.1 + 3.9 + 0.1);
    }

    #[test]
    fn a_circle_by_arcs_runs_at_full_feed() {
        // Two half circles of radius 5: 31.416 mm at 10 mm/s, accelerating and braking once.
        let f = file(|f| {
            f.acceleration_mm_per_s2 = 100.0;
            f.tool_change_s = 0.0;
        });
        let program = "T1 M6\nG0 X5. Y0. Z1.\nG1 Z0. F600.\nG3 X-5. Y0. I-5. J0.\nG3 X5. Y0. I5. J0.\n";
        let time = cycle_time(program, &f).unwrap();
        let arc = std::f64::consts::PI * 10.0;
        // The plunge stops at its end (a 90 degree turn): 1 mm, peak sqrt(100) = 10: 0.2 s.
        let plunge = 0.2;
        let rapid = {
            // 5 mm in XY at 25,400 mm/min (423.3 mm/s) at 100 mm/s2 never cruises: 2 sqrt(5 / 100).
            2.0 * (5.0f64 / 100.0).sqrt()
        };
        let want = rapid + plunge + 0.1 + (arc - 1.0) / 10.0 + 0.1;
        // The arcs are run as chords within 0.5 um: a few um shorter in all.
        assert!((time.program.cycle_time_s - want).abs() < 1e-3, "{} s, expected {want} s", time.program.cycle_time_s);
        assert!((time.program.cutting_mm - (arc + 1.0)).abs() < 2e-3, "{}", time.program.cutting_mm);
        close(time.program.rapid_mm, 41f64.sqrt()); // from the clearance plane, Z5
    }

    #[test]
    fn a_ramp_and_a_retract() {
        // A 45 degree ramp down 1 mm over 1 mm, then a rapid up 5 mm (a retract) at 15,000
        // mm/min, and a dwell of 2 s.
        let f = file(|f| {
            f.acceleration_mm_per_s2 = 1000.0;
            f.tool_change_s = 0.0;
        });
        let program = "T1 M6\nG0 X0. Y0. Z0.\nG1 X1. Z-1. F60.\nG0 Z4.\nG4 P2.\n";
        let time = cycle_time(program, &f).unwrap();
        let ramp = 2f64.sqrt(); // 1 mm/s, 1 ms to accelerate: 1.414 s + 0.001
        let up = trapezoid(5.0, 0.0, 0.0, 250.0, 1000.0);
        let down = trapezoid(5.0, 0.0, 0.0, 250.0, 1000.0); // from the clearance plane
        close(time.program.cycle_time_s, down + ramp + 0.001 + up + 2.0);
        assert_eq!(time.program.retracts, 1);
    }

    #[test]
    fn short_blocks_run_no_faster_than_the_control_reads_them() {
        // 1,000 blocks of 1 um at 6,000 mm/min: 0.01 ms each by feed, 1 ms each at 1,000
        // blocks a second.
        let f = file(|f| f.tool_change_s = 0.0);
        let mut program = String::from("T1 M6\nG1 F6000.\n");
        for k in 1..=1000 {
            program += &format!("X{:.3}\n", f64::from(k) * 0.001);
        }
        let time = cycle_time(&program, &f).unwrap();
        assert!((time.program.cycle_time_s - 1.0).abs() < 0.01, "{}", time.program.cycle_time_s);
        let scaled = cycle_time(
            &program,
            &file(|f| {
                f.tool_change_s = 0.0;
                f.time_scale = 1.5;
            }),
        )
        .unwrap();
        close(scaled.program.cycle_time_s, 1.5 * time.program.cycle_time_s);
    }
}
