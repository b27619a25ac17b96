# Stubs of the Vivado Tcl commands hwgen's build scripts call, so a script runs in plain tclsh:
#   tclsh vivado-stubs.tcl path/to/build.tcl
# Each stub checks its options against the ones it takes in Vivado (an unknown one is an error), the count of its
# other arguments, and the objects it is given (cells, pins and interfaces that exist on the cells the script
# created; files that exist; a module reference that one of the added Verilog files defines). Tcl itself catches
# a variable read before it is set. Files Vivado would write (wrapper, bitstream, .hwh, .xsa) are written as
# placeholders where Vivado puts them, so the script's own file handling runs for real. Every command called is
# printed on stdout, one per line, for the test to check.

namespace eval stub {
    variable log {}
    variable cells
    array set cells {}
    variable project_dir ""
    variable project_name ""
    variable files {}
    variable top ""
    variable bd ""
    # The slack implementation reports, in ns: HWGEN_STUB_WNS / HWGEN_STUB_WHS set a design that misses timing.
    variable wns [expr {[info exists ::env(HWGEN_STUB_WNS)] && $::env(HWGEN_STUB_WNS) ne "" ? $::env(HWGEN_STUB_WNS) : 0.412}]
    variable whs [expr {[info exists ::env(HWGEN_STUB_WHS)] && $::env(HWGEN_STUB_WHS) ne "" ? $::env(HWGEN_STUB_WHS) : 0.051}]
    variable ports
    array set ports {}

    # Ports and interfaces of the Vivado IP the scripts use, by VLNV without its version.
    variable ip
    array set ip {
        xilinx.com:ip:processing_system7 {pins {FCLK_CLK0 FCLK_RESET0_N IRQ_F2P} intf {M_AXI_GP0 S_AXI_HP0 DDR FIXED_IO}}
        xilinx.com:ip:zynq_ultra_ps_e {pins {pl_clk0 pl_resetn0 pl_ps_irq0 maxihpm0_fpd_aclk saxihp0_fpd_aclk} intf {M_AXI_HPM0_FPD M_AXI_HPM1_FPD S_AXI_HP0_FPD}}
        xilinx.com:ip:axi_dma {pins {mm2s_introut s2mm_introut s_axi_lite_aclk m_axi_mm2s_aclk m_axi_s2mm_aclk axi_resetn} intf {S_AXI_LITE M_AXI_MM2S M_AXI_S2MM M_AXIS_MM2S S_AXIS_S2MM}}
        xilinx.com:ip:proc_sys_reset {pins {slowest_sync_clk ext_reset_in aux_reset_in mb_debug_sys_rst dcm_locked peripheral_aresetn interconnect_aresetn peripheral_reset} intf {}}
        xilinx.com:ip:xlconcat {pins {In0 In1 In2 In3 dout} intf {}}
        xilinx.com:ip:xlconstant {pins {dout} intf {}}
        xilinx.com:ip:xdma {pins {sys_clk sys_rst_n axi_aclk axi_aresetn user_lnk_up usr_irq_req usr_irq_ack msi_enable} intf {pcie_mgt M_AXIS_H2C_0 S_AXIS_C2H_0 M_AXI_LITE}}
        xilinx.com:ip:util_ds_buf {pins {IBUF_OUT IBUF_DS_ODIV2} intf {CLK_IN_D}}
        xilinx.com:ip:clk_wiz {pins {clk_in1 clk_out1 locked reset resetn} intf {}}
        xilinx.com:ip:axis_clock_converter {pins {s_axis_aclk s_axis_aresetn m_axis_aclk m_axis_aresetn} intf {S_AXIS M_AXIS}}
        xilinx.com:ip:axis_dwidth_converter {pins {aclk aresetn} intf {S_AXIS M_AXIS}}
        xilinx.com:ip:axi_clock_converter {pins {s_axi_aclk s_axi_aresetn m_axi_aclk m_axi_aresetn} intf {S_AXI M_AXI}}
    }
    # apply_bd_automation: the rules and the keys of each one's -config.
    variable rules
    array set rules {
        xilinx.com:bd_rule:processing_system7 {make_external apply_board_preset Master Slave}
        xilinx.com:bd_rule:zynq_ultra_ps_e {apply_board_preset}
        xilinx.com:bd_rule:axi4 {Clk_master Clk_slave Clk_xbar Master Slave ddr_seg intc_ip master_apm}
    }
}

proc stub::fail {msg} {
    puts stderr "vivado stub: $msg"
    exit 3
}

# Splits a call's arguments into options (checked against those the command takes) and the rest.
proc stub::parse {name argv valueOpts boolOpts minPos maxPos} {
    set opts [dict create]
    set pos {}
    for {set i 0} {$i < [llength $argv]} {incr i} {
        set a [lindex $argv $i]
        if {[string match -* $a] && ![string is double -strict $a]} {
            if {$a in $valueOpts} {
                if {$i + 1 >= [llength $argv]} { stub::fail "$name: $a needs a value" }
                dict set opts $a [lindex $argv [incr i]]
            } elseif {$a in $boolOpts} {
                dict set opts $a 1
            } else {
                stub::fail "$name: unknown option $a (it takes [join [concat $valueOpts $boolOpts] {, }])"
            }
        } else {
            lappend pos $a
        }
    }
    if {[llength $pos] < $minPos || [llength $pos] > $maxPos} {
        stub::fail "$name: [llength $pos] arguments ([join $pos { }]), it takes $minPos to $maxPos"
    }
    return [list $opts $pos]
}

# Defines a stub: `opts` (a dict) and `pos` (a list) are set for its body.
proc stub::cmd {name valueOpts boolOpts minPos maxPos body} {
    proc ::$name args "
        lassign \[stub::parse $name \$args [list $valueOpts] [list $boolOpts] $minPos $maxPos\] opts pos
        lappend stub::log \[concat $name \$args\]
        $body
    "
}

proc stub::need {cond msg} {
    if {![uplevel 1 [list expr $cond]]} { stub::fail $msg }
}

# The ports and interfaces of a module reference, from the Verilog that defines it.
proc stub::module_ports {module} {
    variable files
    foreach f $files {
        if {![string match *.v $f]} continue
        set fd [open $f]
        set text [read $fd]
        close $fd
        if {[regexp "module\\s+$module\\s*(#\\s*\\(.*?\\)\\s*)?\\((.*?)\\);" $text -> params body]} {
            set pins {}
            foreach {-> name} [regexp -all -inline {(?:input|output)\s+(?:wire|reg)?\s*(?:\[[^\]]*\])?\s*(\w+)} $body] {
                lappend pins $name
            }
            set intf {}
            foreach p $pins {
                if {[regexp {^([sm]_axis?)_} $p -> prefix] && $prefix ni $intf} { lappend intf $prefix }
            }
            return [list pins $pins intf $intf]
        }
    }
    stub::fail "create_bd_cell -reference $module: no added Verilog file defines module $module"
}

proc stub::cell_of {path} {
    variable cells
    set path [string trimleft $path /]
    set cell [lindex [split $path /] 0]
    stub::need {[info exists cells($cell)]} "no cell $cell in the block design (cells: [lsort [array names cells]])"
    return $cell
}

# "cell/pin" -> checks the cell has that pin (kind pins) or interface (kind intf).
proc stub::pin {path kind} {
    variable cells
    set cell [stub::cell_of $path]
    set name [lindex [split [string trimleft $path /] /] 1]
    set known [dict get $cells($cell) $kind]
    stub::need {$name in $known} "cell $cell has no [expr {$kind eq {pins} ? {pin} : {interface}}] $name ($kind: [join $known { }])"
    return "$kind:$cell/$name"
}

stub::cmd get_board_parts {} {-quiet -latest_file_version} 1 1 { return [lindex $pos 0] }
stub::cmd create_project {-part} {-force} 2 2 {
    stub::need {[dict exists $opts -part]} "create_project: no -part"
    set stub::project_name [lindex $pos 0]
    set stub::project_dir [lindex $pos 1]
    file mkdir $stub::project_dir
    return project:[lindex $pos 0]
}
stub::cmd current_project {} {} 0 0 { return project:$stub::project_name }
stub::cmd get_filesets {} {} 1 1 {
    stub::need {[lindex $pos 0] in {sources_1 constrs_1 sim_1}} "get_filesets: no fileset [lindex $pos 0]"
    return fileset:[lindex $pos 0]
}
stub::cmd add_files {-fileset} {-norecurse} 1 1 {
    foreach f [lindex $pos 0] {
        stub::need {[file isfile $f]} "add_files: $f does not exist"
        lappend stub::files $f
    }
}
stub::cmd get_files {} {-quiet} 1 1 {
    set pat [lindex $pos 0]
    foreach f $stub::files {
        if {[string match $pat [file tail $f]] || [string match $pat $f]} { return file:$f }
    }
    if {$stub::bd ne "" && $pat eq "$stub::bd.bd"} { return file:$stub::bd.bd }
    stub::fail "get_files: no file matches $pat"
}
stub::cmd update_compile_order {-fileset} {} 0 0 {}
stub::cmd set_property {-dict} {-quiet} 1 3 {
    if {[dict exists $opts -dict]} {
        set d [dict get $opts -dict]
        stub::need {[llength $d] % 2 == 0} "set_property -dict: an odd list ($d)"
        set objs [lindex $pos 0]
        stub::need {[llength $pos] == 1} "set_property -dict: one list of objects, not [llength $pos] arguments"
    } else {
        stub::need {[llength $pos] == 3} "set_property NAME VALUE OBJECTS: [llength $pos] arguments"
        lassign $pos name value objs
        set d [list $name $value]
        if {$name eq "top"} { set stub::top $value }
    }
    stub::need {[llength $objs] > 0} "set_property: no object"
    foreach o $objs {
        stub::need {[regexp {^(project|fileset|file|cell|run|port|intfport|ip):} $o]} "set_property: '$o' is not an object"
        if {[regexp {^(cell|ip):} $o]} {
            foreach {k v} $d { stub::need {[string match CONFIG.* $k]} "set_property on a cell: $k is not a CONFIG property" }
        }
    }
}
stub::cmd get_property {} {} 2 2 {
    switch -- [lindex $pos 0] {
        PROGRESS { return 100% }
        STATUS { return "write_bitstream Complete!" }
        STATS.WNS { stub::need {[lindex $pos 1] eq "run:impl_1"} "get_property STATS.WNS of [lindex $pos 1]"; return $stub::wns }
        STATS.WHS { stub::need {[lindex $pos 1] eq "run:impl_1"} "get_property STATS.WHS of [lindex $pos 1]"; return $stub::whs }
        default { stub::fail "get_property: the stubs do not know [lindex $pos 0]" }
    }
}
stub::cmd create_bd_design {} {} 1 1 { set stub::bd [lindex $pos 0] }
stub::cmd create_bd_cell {-type -vlnv -reference} {} 1 1 {
    set name [lindex $pos 0]
    stub::need {![info exists stub::cells($name)]} "create_bd_cell: $name exists already"
    switch -- [dict get $opts -type] {
        ip {
            set vlnv [dict get $opts -vlnv]
            stub::need {[info exists stub::ip($vlnv)]} "create_bd_cell: the stubs do not know IP $vlnv"
            set stub::cells($name) $stub::ip($vlnv)
        }
        module {
            stub::need {[dict exists $opts -reference]} "create_bd_cell -type module: no -reference"
            set stub::cells($name) [stub::module_ports [dict get $opts -reference]]
        }
        default { stub::fail "create_bd_cell: -type [dict get $opts -type]" }
    }
    return cell:$name
}
stub::cmd create_bd_port {-dir -type -from -to} {} 1 1 {
    stub::need {[dict get $opts -dir] in {I O IO}} "create_bd_port: -dir [dict get $opts -dir]"
    set stub::ports([lindex $pos 0]) pin
    return port:[lindex $pos 0]
}
stub::cmd create_bd_intf_port {-mode -vlnv} {} 1 1 {
    stub::need {[dict get $opts -mode] in {Master Slave}} "create_bd_intf_port: -mode [dict get $opts -mode]"
    stub::need {[dict exists $opts -vlnv]} "create_bd_intf_port: no -vlnv"
    set stub::ports([lindex $pos 0]) intf
    return intfport:[lindex $pos 0]
}
stub::cmd get_bd_ports {} {} 1 1 {
    stub::need {[info exists stub::ports([lindex $pos 0])] && $stub::ports([lindex $pos 0]) eq "pin"} "get_bd_ports: no port [lindex $pos 0]"
    return port:[lindex $pos 0]
}
stub::cmd get_bd_intf_ports {} {} 1 1 {
    stub::need {[info exists stub::ports([lindex $pos 0])] && $stub::ports([lindex $pos 0]) eq "intf"} "get_bd_intf_ports: no interface port [lindex $pos 0]"
    return intfport:[lindex $pos 0]
}
stub::cmd get_bd_cells {} {} 1 1 { return cell:[stub::cell_of [lindex $pos 0]] }
stub::cmd get_bd_pins {} {} 1 1 { return [stub::pin [lindex $pos 0] pins] }
stub::cmd get_bd_intf_pins {} {} 1 1 { return [stub::pin [lindex $pos 0] intf] }
stub::cmd connect_bd_net {} {} 2 16 {
    foreach p $pos { stub::need {[regexp {^(pins|port):} $p]} "connect_bd_net: '$p' is not a pin or port" }
}
stub::cmd connect_bd_intf_net {} {} 2 2 {
    foreach p $pos { stub::need {[regexp {^(intf|intfport):} $p]} "connect_bd_intf_net: '$p' is not an interface" }
}
stub::cmd apply_bd_automation {-rule -config} {} 1 1 {
    set rule [dict get $opts -rule]
    stub::need {[info exists stub::rules($rule)]} "apply_bd_automation: the stubs do not know rule $rule"
    set config [dict get $opts -config]
    stub::need {[llength $config] % 2 == 0} "apply_bd_automation -config: an odd list ($config)"
    foreach {k v} $config {
        stub::need {$k in $stub::rules($rule)} "apply_bd_automation $rule: unknown -config key $k"
        if {$k in {Master Slave} && [string match /* $v]} { stub::pin $v intf }
    }
    set target [lindex $pos 0]
    stub::need {[regexp {^(cell|intf|pins):} $target]} "apply_bd_automation: '$target' is not a cell or pin"
}
stub::cmd assign_bd_address {} {} 0 0 {}
stub::cmd validate_bd_design {} {} 0 0 {}
stub::cmd save_bd_design {} {} 0 0 {}
stub::cmd make_wrapper {-files} {-top -import} 0 0 {
    stub::need {[string match file:* [dict get $opts -files]]} "make_wrapper -files: not a file object"
    set dir [file join $stub::project_dir $stub::project_name.gen sources_1 bd $stub::bd hdl]
    file mkdir $dir
    set f [file join $dir ${stub::bd}_wrapper.v]
    set fd [open $f w]
    puts $fd "module ${stub::bd}_wrapper; endmodule"
    close $fd
    return $f
}
stub::cmd get_runs {} {} 1 1 {
    stub::need {[lindex $pos 0] in {synth_1 impl_1}} "get_runs: no run [lindex $pos 0]"
    return run:[lindex $pos 0]
}
stub::cmd launch_runs {-jobs -to_step} {} 1 1 {
    set run [lindex $pos 0]
    stub::need {$run in {synth_1 impl_1}} "launch_runs: no run $run"
    stub::need {$stub::top ne ""} "launch_runs: no top was set"
    if {[dict exists $opts -to_step]} { stub::need {[dict get $opts -to_step] eq "write_bitstream"} "launch_runs -to_step [dict get $opts -to_step]" }
    set dir [file join $stub::project_dir $stub::project_name.runs $run]
    file mkdir $dir
    if {$run eq "impl_1"} {
        stub::need {[dict exists $opts -to_step]} "launch_runs impl_1 without -to_step write_bitstream writes no bitstream"
        close [open [file join $dir $stub::top.bit] w]
    }
    if {$run eq "synth_1" && $stub::bd ne ""} {
        set hh [file join $stub::project_dir $stub::project_name.gen sources_1 bd $stub::bd hw_handoff]
        file mkdir $hh
        close [open [file join $hh $stub::bd.hwh] w]
    }
}
stub::cmd wait_on_run {-timeout} {} 1 1 {}
stub::cmd open_run {} {} 1 1 { stub::need {[lindex $pos 0] in {synth_1 impl_1}} "open_run: no run [lindex $pos 0]" }
stub::cmd report_timing_summary {-file} {} 0 0 { close [open [dict get $opts -file] w] }
stub::cmd report_utilization {-file} {} 0 0 { close [open [dict get $opts -file] w] }
stub::cmd write_hw_platform {-file} {-fixed -include_bit -force} 0 0 {
    stub::need {[dict exists $opts -file]} "write_hw_platform: no -file"
    close [open [dict get $opts -file] w]
}
stub::cmd create_ip {-name -vendor -library -version -module_name -dir} {} 0 0 {
    foreach o {-name -vendor -library -module_name} { stub::need {[dict exists $opts $o]} "create_ip: no $o" }
    stub::need {[dict get $opts -name] in {clk_wiz}} "create_ip: the stubs do not know IP [dict get $opts -name]"
    lappend stub::ips [dict get $opts -module_name]
}
stub::cmd get_ips {} {} 1 1 {
    stub::need {[info exists stub::ips] && [lindex $pos 0] in $stub::ips} "get_ips: no IP [lindex $pos 0]"
    return ip:[lindex $pos 0]
}
stub::cmd generate_target {} {-force} 2 2 {
    stub::need {[lindex $pos 0] in {all synthesis simulation instantiation_template}} "generate_target: [lindex $pos 0]"
    stub::need {[string match ip:* [lindex $pos 1]]} "generate_target: '[lindex $pos 1]' is not an IP"
}
stub::cmd synth_design {-top -part} {} 0 0 {}
stub::cmd read_xdc {} {} 1 1 { stub::need {[file isfile [lindex $pos 0]]} "read_xdc: no file [lindex $pos 0]" }

if {[llength $argv] != 1} {
    puts stderr "usage: tclsh vivado-stubs.tcl build.tcl"
    exit 2
}
set script [lindex $argv 0]
# Vivado's -mode batch -source runs a script with no arguments.
set argv {}
set argc 0
if {[catch {uplevel #0 [list source $script]} err]} {
    puts stderr "vivado stub: the script failed: $::errorInfo"
    exit 1
}
foreach line $stub::log { puts $line }
