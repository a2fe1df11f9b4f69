# CPack pre-build script: strips the staged files the way Debian's dh_strip
# does, before they are packaged. Executables (already stripped by
# CPACK_STRIP_FILES) lose their .comment and .note sections; static
# libraries keep their symbols (they are linked against) but lose debug
# information, which is most of their size.
file(GLOB_RECURSE programs "${CPACK_TEMPORARY_INSTALL_DIRECTORY}/*/usr/bin/*")
file(GLOB_RECURSE archives "${CPACK_TEMPORARY_INSTALL_DIRECTORY}/*.a")
foreach(file IN LISTS programs)
  execute_process(COMMAND strip --remove-section=.comment
    --remove-section=.note "${file}" COMMAND_ERROR_IS_FATAL ANY)
endforeach()
foreach(file IN LISTS archives)
  execute_process(COMMAND strip --strip-debug --remove-section=.comment
    --remove-section=.note --enable-deterministic-archives "${file}"
    COMMAND_ERROR_IS_FATAL ANY)
endforeach()
