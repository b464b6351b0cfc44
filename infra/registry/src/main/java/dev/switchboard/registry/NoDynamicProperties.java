package dev.switchboard.registry;

import java.util.List;

import javax.enterprise.inject.Produces;
import javax.inject.Singleton;

import io.apicurio.common.apps.config.DynamicConfigPropertyList;

/**
 * Stands in for the build step of Apicurio's config-index extension, which is not on Maven Central.
 * That step lists the properties an administrator may change at run time; this list is empty, so
 * every property keeps the value it was started with.
 */
@Singleton
public class NoDynamicProperties {

    @Produces
    @Singleton
    DynamicConfigPropertyList properties() {
        return new DynamicConfigPropertyList(List.of());
    }
}
