"""The breach register: every personal-data incident per controller, its clocks from the jurisdiction pack,
the assessment, the authority notification document and the notices to the people concerned."""
